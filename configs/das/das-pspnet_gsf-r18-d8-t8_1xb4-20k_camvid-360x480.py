# DAS on CamVid (SegNet release, 360x480, 11 classes) on one GPU, from
# scratch: PSPNet on a GSF-ResNetV1c-18 (mmseg's pspnet_r18-d8 channels),
# T = 8, batch 4 of 360x480 crops (32 frames per step). python tools/train.py
# CONFIG searches 80 epochs of the weight half of the 367 training images
# (3680 iterations), writes <work_dir>/das_policy.json, then retrains from a
# fresh initialisation on all 367 for 20k iterations with the policy,
# evaluated every 2k on the 101 val images. Optimisation as the paper's
# segmentation setting (SGD lr 0.02, weight decay 1e-4, momentum 0.9, poly)
# without its backbone lr x 0.1, which is for a pretrained backbone; the
# authors' gradient clipping at 5, α optimizer and 80-epoch search
# (github.com/casarinsof/TRAS, exp_scripts/config.json). CamVid is not in the
# paper: a one-GPU check of the method.
# Image baseline: pspnet_r18-d8_1xb4-20k_camvid-360x480.py.
_base_ = [
    '../_base_/models/das_pspnet_gsf_r18.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py', '../_base_/schedules/das_schedule_20k.py',
    '../_base_/search/das_first_order.py'
]
crop_size = (360, 480)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(init_cfg=None),  # from scratch
    decode_head=dict(num_classes=11),
    auxiliary_head=dict(num_classes=11))
# 80 epochs of 184 images at 4 per step (46 steps each)
search_iters = 80 * 46
das_search = dict(search_iters=search_iters)
