# DAS segmentor of the paper: PSPNet (mmseg's PSPNet-R50-D8, auxiliary FCN head
# included) on a GSF-ResNet-50 that reads T = 8 frames made from each image by
# the searchable clip cell; per-frame logits averaged over T. Trained from
# scratch unless you give weights: the 2-D ResNetV1c's checkpoints load
# unchanged (only the GSF modules are new), e.g.
# model.backbone.init_cfg=dict(type='Pretrained',
# checkpoint='open-mmlab://resnet50_v1c'), or a whole segmentor with
# load_from=PATH.
_base_ = ['mmseg::_base_/models/pspnet_r50-d8.py']
num_frames = 8
mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
model = dict(
    type='ClipEncoderDecoder',
    data_preprocessor=dict(type='ClipSegDataPreProcessor', mean=mean, std=std),
    pretrained=None,
    clip_cell=dict(
        type='ClipCell',
        ops=('identity', 'shift_x', 'shift_y', 'zoom', 'rotate'),
        num_frames=num_frames,
        num_nodes=4,  # 14 edges, as DARTS
        mean=mean,  # the cell sees normalised RGB images: padding stays black
        std=std),
    fusion='logits',
    backbone=dict(
        type='VideoResNetV1c',
        num_segments=num_frames,
        temporal=dict(type='GSF', gate_ratio=0.25)))
