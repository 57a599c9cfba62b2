# DAS on PASCAL VOC 2012 + SBD, the paper's segmentation setting: PSPNet on an
# ImageNet-pretrained GSF-ResNetV1c-50 (open-mmlab://resnet50_v1c, as mmseg's
# PSPNet), T = 8 frames per image from the searchable clip cell, per-frame
# logits averaged. One command, tools/dist_train.sh CONFIG 4:
# 1. search: 80 epochs of the weight half of the 10582 training images
#    (26480 iterations at 4 GPUs x 4), one α step per weight step on a batch
#    of the policy half;
# 2. the derived policy is written to <work_dir>/das_policy.json;
# 3. retraining from the ImageNet weights on all 10582 images for 40k
#    iterations with that policy, evaluated every 4k.
# Paper: SGD lr 0.02, backbone lr x 0.1, weight decay 1e-4, momentum 0.9,
# poly; batch 4, crop 380. Authors' code (github.com/casarinsof/TRAS,
# exp_scripts/config.json), followed where the paper is silent: the scale
# range of the crop (../_base_/datasets/voc12_aug.py), gradient clipping at 5
# and the α optimizer (../_base_/schedules/das_schedule_40k.py,
# ../_base_/search/das_first_order.py), the 80-epoch search ("epochs": 80;
# the authors searched on VOC 2012 train, 1464 images, i.e. about 3680
# iterations: set das_search.search_iters=3680 for that). Public in
# neither: the GPU count and the length of the final training, here mmseg's
# VOC aug schedule (4 GPUs, 40k). The backbone's x 0.1 covers its new GSF
# modules too, as the authors' backbone parameter group does.
# Without network access pass the ImageNet weights as a file:
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/to/
#   resnet50_v1c-2cccc1ad.pth
# Image baseline (the same data, optimizer and schedule, mmseg's
# EncoderDecoder): pspnet_r50-d8_4xb4-40k_voc12aug-380x380.py.
_base_ = [
    '../_base_/models/das_pspnet_gsf_r50.py',
    '../_base_/datasets/voc12_aug.py', '../_base_/default_runtime.py',
    '../_base_/schedules/das_schedule_40k.py',
    '../_base_/search/das_first_order.py'
]
crop_size = (380, 380)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
# 80 epochs of 5291 images at 4 x 4 per step (331 steps each)
search_iters = 80 * 331
das_search = dict(search_iters=search_iters)
# fine-tuning: the paper's backbone lr x 0.1
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
