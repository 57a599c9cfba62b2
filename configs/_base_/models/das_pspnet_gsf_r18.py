# DAS PSPNet on a GSF-ResNetV1c-18 (channels as mmseg's pspnet_r18-d8 configs;
# ImageNet weights open-mmlab://resnet18_v1c unless init_cfg=None).
_base_ = ['./das_pspnet_gsf_r50.py']
model = dict(
    backbone=dict(
        depth=18, init_cfg=dict(checkpoint='open-mmlab://resnet18_v1c')),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
