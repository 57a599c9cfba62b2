# DAS PSPNet on a GSF-MobileNetV2 (output stride 8, as mmseg's mobilenet-v2-d8
# configs, ImageNet weights mmcls://mobilenet_v2 unless init_cfg=None); GSF in
# every inverted residual block with an identity shortcut.
_base_ = ['./das_pspnet_gsf_r50.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='VideoMobileNetV2',
        temporal=dict(type='GateShiftFuse', gate_ratio=0.25),
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')),
    decode_head=dict(in_channels=320),
    auxiliary_head=dict(in_channels=96))
