# DAS on Cityscapes: PSPNet on a GSF-ResNet-50, T = 8, search on a 50/50 split
# of the training set (first 20k iterations), then training with the derived
# policy; optimisation as the paper's VOC setting (SGD lr 0.02, backbone lr
# x 0.1, weight decay 1e-4, momentum 0.9, poly). The paper's Cityscapes crop,
# batch and length are not public: mmseg's Cityscapes defaults (512x1024 crops,
# 80k iterations on 4 GPUs) with batch 1 per GPU, since T = 8 frames of
# 512x1024 per image. Image baseline: configs/das_cityscapes_baseline.py.
#   tools/dist_train.sh configs/das_cityscapes.py 4
_base_ = [
    './_base_/models/das_pspnet_gsf_r50.py', './_base_/datasets/cityscapes.py',
    './_base_/default_runtime.py', './_base_/schedules/das_seg_poly_40k.py',
    './_base_/schedules/das_search.py'
]
crop_size = (512, 1024)
max_iters = 80000
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(batch_size=1)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
# The paper's α optimizer, interval and 50/50 split are the hook's defaults
# (see _base_/schedules/das_search.py).
custom_hooks = [
    dict(type='DASSearchHook', mode='search_and_train', search_iters=20000)
]
