# A CPU-scale DAS segmentor: PSPNet on a narrow GSF-ResNetV1c-18 (16 base
# channels, output stride 16), clips of T = 4 frames from the searchable clip
# cell. For the demo and CPU experiments, not for accuracy.
_base_ = ['./fcn_r18_tiny.py']
num_frames = 4
mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
model = dict(
    type='ClipEncoderDecoder',
    data_preprocessor=dict(type='ClipSegDataPreProcessor'),
    clip_cell=dict(
        type='ClipCell',
        ops=('identity', 'shift_x', 'shift_y', 'zoom', 'rotate'),
        num_frames=num_frames,
        num_nodes=4,
        mean=mean,
        std=std),
    fusion='logits',
    backbone=dict(
        type='VideoResNetV1c',
        num_segments=num_frames,
        temporal=dict(type='GSF', gate_ratio=0.25),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2)),
    decode_head=dict(
        _delete_=True,
        type='PSPHead',
        in_channels=128,
        in_index=3,
        channels=32,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
