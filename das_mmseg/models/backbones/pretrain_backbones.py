"""mmpretrain's ResNets and MobileNetV2 with temporal modules, their blocks
left as they are. Imported (and registered in mmpretrain's MODELS) only when
mmpretrain is installed.

Registered names: ``VideoResNet``, ``VideoResNet_CIFAR`` (class names, as
mmpretrain's ``ResNet`` and ``ResNet_CIFAR``) and
``PretrainVideoMobileNetV2``, also registered as ``VideoMobileNetV2`` (the
name mmseg's variant :class:`VideoMobileNetV2` has as a class).
"""
from mmpretrain.models.backbones import MobileNetV2 as PretrainMobileNetV2
from mmpretrain.models.backbones import ResNet as PretrainResNet
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.registry import MODELS

from ...registry import register_under_names
from .temporal_insertion import VideoBackboneMixin
from .video_mobilenet_v2 import MobileNetV2Sites
from .video_resnet import ResNetSites


class VideoResNet(ResNetSites, VideoBackboneMixin, PretrainResNet):
    """mmpretrain ``ResNet`` with a temporal module in its residual blocks
    (default: GSF in every block).

    Arguments: those of :class:`VideoBackboneMixin` and of mmpretrain's
    ``ResNet``. The state dict is the 2-D ``ResNet``'s plus
    ``layer*.*.conv{1,2,3}.temporal.*``, so a 2-D classifier's checkpoint
    loads unchanged (``init_cfg=dict(type='Pretrained', checkpoint=PATH,
    prefix='backbone.')``).
    """

    temporal_registry = MODELS


class VideoResNet_CIFAR(ResNetSites, VideoBackboneMixin, ResNet_CIFAR):
    """mmpretrain ``ResNet_CIFAR`` (3x3 stem, no max pool, for 32x32 images)
    with temporal modules in its blocks; arguments as :class:`VideoResNet`.
    """

    temporal_registry = MODELS


class PretrainVideoMobileNetV2(MobileNetV2Sites, VideoBackboneMixin,
                               PretrainMobileNetV2):
    """mmpretrain ``MobileNetV2`` with a temporal module in its residual blocks
    (default: GSF in every one).

    Arguments: those of :class:`VideoBackboneMixin` (``temporal_stages``: 7
    flags) and of mmpretrain's ``MobileNetV2``. The state dict is the 2-D
    one's plus ``layer*.*.conv.*.conv.temporal.*``.
    """

    temporal_registry = MODELS


register_under_names(MODELS, VideoResNet)
register_under_names(MODELS, VideoResNet_CIFAR)
register_under_names(
    MODELS, PretrainVideoMobileNetV2, aliases=('VideoMobileNetV2', ))

__all__ = ['VideoResNet', 'VideoResNet_CIFAR', 'PretrainVideoMobileNetV2']
