# The image baseline of das_imagenet_gsf-r50.py: ResNet-50, T = 1, no clip
# cell, no temporal modules, no search.
_base_ = ['./das_imagenet_gsf-r50.py']
model = dict(
    clip_cell=None, num_frames=1, backbone=dict(temporal=None, num_segments=1))
custom_hooks = []
