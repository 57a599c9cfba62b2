# DAS on Cityscapes: PSPNet on an ImageNet-pretrained GSF-ResNetV1c-50
# (open-mmlab://resnet50_v1c), T = 8, per-frame logits averaged;
# tools/dist_train.sh CONFIG 4 searches 80 epochs of the weight half of the
# 2975 training images (29760 iterations at 4 GPUs x 1), writes
# <work_dir>/das_policy.json, then retrains from the ImageNet weights on all
# of them for 80k iterations with the policy. Optimisation as the paper's VOC
# setting (SGD lr 0.02, backbone lr x 0.1, weight decay 1e-4, momentum 0.9,
# poly) with the authors' gradient clipping at 5, α optimizer and 80-epoch
# search (github.com/casarinsof/TRAS, exp_scripts/config.json, their VOC
# setting: they publish none for Cityscapes). The paper's Cityscapes crop,
# batch and length are not public: mmseg's Cityscapes data (512x1024 crops)
# and 80k schedule on 4 GPUs, with 1 image per GPU since each image is T = 8
# frames of 512x1024.
# Without network access pass the ImageNet weights as a file:
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/to/
#   resnet50_v1c-2cccc1ad.pth
# Image baseline: pspnet_r50-d8_4xb1-80k_cityscapes-512x1024.py.
_base_ = [
    '../_base_/models/das_pspnet_gsf_r50.py',
    '../_base_/datasets/cityscapes.py', '../_base_/default_runtime.py',
    '../_base_/schedules/das_schedule_80k.py',
    '../_base_/search/das_first_order.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=1)
# 80 epochs of 1488 images at 4 x 1 per step (372 steps each)
search_iters = 80 * 372
das_search = dict(search_iters=search_iters)
# fine-tuning: the paper's backbone lr x 0.1
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
