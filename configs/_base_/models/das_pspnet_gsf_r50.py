# DAS segmentor of the paper: PSPNet (mmseg's pspnet_r50-d8.py, auxiliary FCN
# head included) on a GSF-ResNetV1c-50 that reads T = 8 frames made from each
# image by the searchable clip cell; per-frame logits averaged over T. The
# cell normalises as the data preprocessor does (its mean, std and channel
# order are taken from it). As mmseg's model, the backbone starts from
# ImageNet weights (the 2-D ResNetV1c's load unchanged, only the GSF modules
# are new); configs trained from scratch set model.backbone.init_cfg=None.
# Without network access pass the file:
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/to/resnet50_v1c.pth
_base_ = ['mmseg::_base_/models/pspnet_r50-d8.py']
# T, stated once: the model fills its clip cell's num_frames and its
# backbone's num_segments from it
num_frames = 8
model = dict(
    type='ClipEncoderDecoder',
    num_frames=num_frames,
    data_preprocessor=dict(type='ClipSegDataPreProcessor'),
    pretrained=None,
    clip_cell=dict(
        type='ClipCell',
        ops=('identity', 'shift_x', 'shift_y', 'zoom', 'rotate'),
        num_nodes=4),  # 14 edges, as DARTS
    fusion='logits',
    backbone=dict(
        type='VideoResNetV1c',
        temporal=dict(type='GateShiftFuse', gate_ratio=0.25),
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')))
