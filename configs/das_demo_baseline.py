# The image baseline of configs/das_demo.py: the same tiny ResNet-18 PSPNet and
# schedule with no clip cell, no temporal modules, T = 1 and no search, trained
# on all 48 sample images.
_base_ = ['./das_demo.py']
model = dict(
    clip_cell=None, num_frames=1, backbone=dict(temporal=None, num_segments=1))
custom_hooks = []
