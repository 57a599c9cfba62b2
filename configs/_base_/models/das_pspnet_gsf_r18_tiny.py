# The DAS twin of pspnet_r18_tiny.py: the same tiny PSPNet on a
# GSF-ResNetV1c-18 reading clips of T = 4 frames from the searchable clip cell
# (normalised as the data preprocessor), per-frame logits averaged. For the
# demo and CPU experiments, not for accuracy.
_base_ = ['./pspnet_r18_tiny.py']
# T, stated once: the model fills its clip cell's num_frames and its
# backbone's num_segments from it
num_frames = 4
model = dict(
    type='ClipEncoderDecoder',
    num_frames=num_frames,
    data_preprocessor=dict(type='ClipSegDataPreProcessor'),
    clip_cell=dict(
        type='ClipCell',
        ops=('identity', 'shift_x', 'shift_y', 'zoom', 'rotate'),
        num_nodes=4),
    fusion='logits',
    backbone=dict(
        type='VideoResNetV1c',
        temporal=dict(type='GateShiftFuse', gate_ratio=0.25)))
