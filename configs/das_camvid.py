# DAS on CamVid (SegNet release, 360x480, 11 classes), sized for one GPU:
# PSPNet on a GSF-ResNet-18, T = 8, batch 4 of 360x480 crops
# (32 frames per step), search on a 50/50 split for the first 5k of 20k
# iterations, then training with the derived policy. Optimisation as the
# paper's segmentation setting.
#   python tools/train.py configs/das_camvid.py
# Image baseline: configs/das_camvid_baseline.py.
_base_ = [
    './_base_/models/das_pspnet_gsf_r18.py', './_base_/datasets/camvid.py',
    './_base_/default_runtime.py', './_base_/schedules/das_seg_poly_40k.py',
    './_base_/schedules/das_search.py'
]
crop_size = (360, 480)
max_iters = 20000
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=11),
    auxiliary_head=dict(num_classes=11))
train_dataloader = dict(batch_size=4)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
default_hooks = dict(checkpoint=dict(interval=2000))
# The paper's α optimizer, interval and 50/50 split are the hook's defaults
# (see _base_/schedules/das_search.py).
custom_hooks = [
    dict(type='DASSearchHook', mode='search_and_train', search_iters=5000)
]
