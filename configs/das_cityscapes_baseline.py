# The image baseline of configs/das_cityscapes.py: the same PSPNet-ResNet-50
# and schedule with no clip cell, no temporal modules, T = 1 and no search
# (mmseg's EncoderDecoder on the same data).
_base_ = ['./das_cityscapes.py']
model = dict(
    clip_cell=None, num_frames=1, backbone=dict(temporal=None, num_segments=1))
custom_hooks = []
