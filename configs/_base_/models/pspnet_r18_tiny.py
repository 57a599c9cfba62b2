# A CPU-scale PSPNet: mmseg's pspnet_r50-d8.py shrunk to a narrow ResNetV1c-18
# (16 base channels, output stride 16), no auxiliary head, from scratch; for
# the demo and CPU experiments, not for accuracy. Its DAS twin:
# das_pspnet_gsf_r18_tiny.py.
# BN instead of the base's SyncBN: on one process (the CPU runs it is for)
# both compute the same statistics, and SyncBN needs CUDA.
_base_ = ['mmseg::_base_/models/pspnet_r50-d8.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        norm_cfg=norm_cfg,
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2)),
    decode_head=dict(
        in_channels=128, channels=32, num_classes=11, norm_cfg=norm_cfg),
    auxiliary_head=None)
