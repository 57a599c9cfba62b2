# DAS PSPNet on a GSF-ResNet-18 (channels as mmseg's pspnet_r18-d8 configs).
_base_ = ['./das_pspnet_gsf_r50.py']
model = dict(
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
