# DAS classifier: mmpretrain's ResNet-50 classifier (resnet50.py) as a
# GSF-ResNet-50 reading T = 8 frames made from each image by the searchable
# clip cell; per-frame logits averaged over T (the paper). The cell normalises
# as the data preprocessor does; configs set the preprocessor's type to
# ClipClsDataPreprocessor. Trained from scratch, as the paper's classifiers.
# A 2-D classifier's checkpoint loads its backbone unchanged (only the GSF
# modules are new):
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH,
#                                prefix='backbone.')
# (a plain backbone state dict: without prefix); or a whole DAS classifier
# with load_from=PATH.
_base_ = ['mmpretrain::_base_/models/resnet50.py']
# T, stated once: the model fills its clip cell's num_frames and its
# backbone's num_segments from it
num_frames = 8
model = dict(
    type='ClipImageClassifier',
    num_frames=num_frames,
    clip_cell=dict(
        type='ClipCell',
        ops=('identity', 'shift_x', 'shift_y', 'zoom', 'rotate'),
        num_nodes=4),
    fusion='logits',
    backbone=dict(
        type='VideoResNet',
        temporal=dict(type='GateShiftFuse', gate_ratio=0.25)))
