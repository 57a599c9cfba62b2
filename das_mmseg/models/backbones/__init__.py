"""Video backbones: the 2-D backbones users have, with temporal modules
inserted into their residual blocks.

Registered names: mmseg MODELS ``VideoResNetV1c``, ``VideoMobileNetV2``;
mmpretrain MODELS ``VideoResNet``, ``VideoMobileNetV2``.
"""
from .temporal_insertion import TemporalConv2d, VideoBackboneMixin
from .video_mobilenet_v2 import PretrainVideoMobileNetV2, VideoMobileNetV2
from .video_resnet import PretrainVideoResNet, VideoResNetV1c

__all__ = [
    'TemporalConv2d', 'VideoBackboneMixin', 'VideoResNetV1c',
    'VideoMobileNetV2', 'PretrainVideoResNet', 'PretrainVideoMobileNetV2'
]
