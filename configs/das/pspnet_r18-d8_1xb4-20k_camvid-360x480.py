# The image baseline of das-pspnet_gsf-r18-d8-t8_1xb4-20k_camvid-360x480.py:
# mmseg's PSPNet on a ResNetV1c-18 (as mmseg's pspnet_r18-d8 configs,
# EncoderDecoder) from scratch on CamVid, batch 4 of 360x480 crops on one
# GPU, mmseg's 20k schedule with the same optimizer (SGD lr 0.02, weight decay
# 1e-4, gradients clipped at 5). No clip, no temporal module, no search.
#   python tools/train.py CONFIG
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
crop_size = (360, 480)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,  # from scratch
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128, num_classes=11),
    auxiliary_head=dict(in_channels=256, channels=64, num_classes=11))
optimizer = dict(lr=0.02, weight_decay=1e-4)
optim_wrapper = dict(
    optimizer=optimizer,
    clip_grad=dict(_delete_=True, max_norm=5, norm_type=2))  # base: None
# mmseg's schedule with mmengine's CheckpointHook made crash-safe (the new
# checkpoint is written before retired ones are deleted)
default_hooks = dict(checkpoint=dict(type='CrashSafeCheckpointHook'))
