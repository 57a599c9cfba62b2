# The DAS twin of pspnet_r18_tiny.py: the same tiny PSPNet on a
# GSF-ResNetV1c-18 reading clips of T = 4 frames from the searchable clip cell
# (normalised as the data preprocessor), per-frame logits averaged. For the
# demo and CPU experiments, not for accuracy.
_base_ = ['./pspnet_r18_tiny.py']
num_frames = 4
model = dict(
    type='ClipEncoderDecoder',
    data_preprocessor=dict(type='ClipSegDataPreProcessor'),
    clip_cell=dict(
        type='ClipCell',
        ops=('identity', 'shift_x', 'shift_y', 'zoom', 'rotate'),
        num_frames=num_frames,
        num_nodes=4),
    fusion='logits',
    backbone=dict(
        type='VideoResNetV1c',
        num_segments=num_frames,
        temporal=dict(type='GateShiftFuse', gate_ratio=0.25)))
