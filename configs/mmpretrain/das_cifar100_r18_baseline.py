# The image baseline of das_cifar100_gsf-r18.py: the same ResNet-18 and
# schedule with no clip cell, no temporal modules, T = 1 and no search
# (mmpretrain's ImageClassifier on the same data).
_base_ = ['./das_cifar100_gsf-r18.py']
model = dict(
    clip_cell=None, num_frames=1, backbone=dict(temporal=None, num_segments=1))
custom_hooks = []
