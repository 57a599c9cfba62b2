"""Video backbones: the 2-D backbones users have, with temporal modules
inserted into their residual blocks.

Registered names: mmseg MODELS ``VideoResNetV1c``, ``VideoMobileNetV2``;
with mmpretrain installed, mmpretrain MODELS ``VideoResNet``,
``VideoResNet_CIFAR``, ``PretrainVideoMobileNetV2`` (alias
``VideoMobileNetV2``).
"""
from ...registry import mmpretrain_available
from .temporal_insertion import TemporalConv2d, VideoBackboneMixin
from .video_mobilenet_v2 import MobileNetV2Sites, VideoMobileNetV2
from .video_resnet import ResNetSites, VideoResNetV1c

__all__ = [
    'TemporalConv2d', 'VideoBackboneMixin', 'ResNetSites', 'MobileNetV2Sites',
    'VideoResNetV1c', 'VideoMobileNetV2'
]

if mmpretrain_available():
    from .pretrain_backbones import (PretrainVideoMobileNetV2, VideoResNet,
                                     VideoResNet_CIFAR)
    __all__ += ['VideoResNet', 'VideoResNet_CIFAR', 'PretrainVideoMobileNetV2']
