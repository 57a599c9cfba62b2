# DAS classifier: mmpretrain's ResNet-50 classifier as a GSF-ResNet-50 reading
# T = 8 frames made from each image by the searchable clip cell; per-frame
# logits averaged over T (the paper). The data preprocessor comes from the
# dataset config (mmpretrain's); the final configs set its type to
# ClipClsDataPreprocessor. 2-D ResNet checkpoints load unchanged:
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH), or
# load_from=PATH.
_base_ = ['mmpretrain::_base_/models/resnet50.py']
num_frames = 8
model = dict(
    type='ClipImageClassifier',
    clip_cell=dict(
        type='ClipCell',
        ops=('identity', 'shift_x', 'shift_y', 'zoom', 'rotate'),
        num_frames=num_frames,
        num_nodes=4),
    fusion='logits',
    backbone=dict(
        type='VideoResNet',
        num_segments=num_frames,
        temporal=dict(type='GSF', gate_ratio=0.25)))
