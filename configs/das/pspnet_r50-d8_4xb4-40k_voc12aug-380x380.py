# The image baseline of das-pspnet_gsf-r50-d8-t8_4xb4-40k_voc12aug-380x380.py:
# mmseg's PSPNet-R50-D8 (EncoderDecoder, ImageNet-pretrained ResNetV1c-50),
# mmseg's VOC aug data with the same 380x380 crops and scale range, mmseg's
# 40k schedule with the same optimizer (the paper's SGD lr 0.02, backbone
# x 0.1, weight decay 1e-4; gradients clipped at 5 as the authors' code). No
# clip, no temporal module, no search.
#   tools/dist_train.sh CONFIG 4
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py', '../_base_/datasets/voc12_aug.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_40k.py'
]
crop_size = (380, 380)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
optimizer = dict(lr=0.02, weight_decay=1e-4)
optim_wrapper = dict(
    optimizer=optimizer,
    clip_grad=dict(_delete_=True, max_norm=5, norm_type=2),  # base: None
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
# mmseg's schedule with mmengine's CheckpointHook made crash-safe (the new
# checkpoint is written before retired ones are deleted)
default_hooks = dict(checkpoint=dict(type='CrashSafeCheckpointHook'))
