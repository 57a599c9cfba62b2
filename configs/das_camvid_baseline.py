# The image baseline of configs/das_camvid.py: PSPNet-ResNet-18, T = 1, no clip
# cell, no temporal modules, no search.
_base_ = ['./das_camvid.py']
model = dict(
    clip_cell=None, num_frames=1, backbone=dict(temporal=None, num_segments=1))
custom_hooks = []
