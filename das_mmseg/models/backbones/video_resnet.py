"""ResNets with temporal modules: mmseg's ``ResNetV1c`` and mmpretrain's
``ResNet``, their blocks left as they are."""
from typing import List, Tuple

from mmpretrain.models.backbones import ResNet as PretrainResNet
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS
from torch import nn

from .temporal_insertion import VideoBackboneMixin


class ResNetSites:
    """Residual blocks of an mmseg or mmpretrain ResNet: BasicBlock
    (conv1 ... conv2) or Bottleneck (... conv3)."""

    def temporal_sites(
            self) -> List[List[Tuple[nn.Module, str, nn.Module, str]]]:
        return [[(block, 'conv1', block,
                  'conv3' if hasattr(block, 'conv3') else 'conv2')
                 for block in getattr(self, name)] for name in self.res_layers]


@MODELS.register_module()
class VideoResNetV1c(ResNetSites, VideoBackboneMixin, ResNetV1c):
    """mmseg ``ResNetV1c`` with a temporal module in its residual blocks
    (default: GSF in every block).

    Arguments: those of :class:`VideoBackboneMixin` (``num_segments``,
    ``temporal``, ``temporal_stages``, ``temporal_interval``,
    ``temporal_position``) and of mmseg's ``ResNetV1c``. The state dict is the
    2-D ``ResNetV1c``'s plus the temporal modules'
    ``layer*.*.conv{1,2,3}.temporal.*``.
    """

    temporal_registry = MODELS


@MMPRETRAIN_MODELS.register_module(name='VideoResNet')
class PretrainVideoResNet(ResNetSites, VideoBackboneMixin, PretrainResNet):
    """mmpretrain ``ResNet`` with a temporal module in its residual blocks
    (default: GSF in every block).

    Registered as ``VideoResNet`` in mmpretrain MODELS. Arguments: those of
    :class:`VideoBackboneMixin` and of mmpretrain's ``ResNet``. The state dict
    is the 2-D ``ResNet``'s plus ``layer*.*.conv{1,2,3}.temporal.*``.
    """

    temporal_registry = MMPRETRAIN_MODELS


@MMPRETRAIN_MODELS.register_module(name='VideoResNet_CIFAR')
class PretrainVideoResNetCIFAR(ResNetSites, VideoBackboneMixin, ResNet_CIFAR):
    """mmpretrain ``ResNet_CIFAR`` (3x3 stem, no max pool, for 32x32 images)
    with temporal modules in its blocks.

    Registered as ``VideoResNet_CIFAR`` in mmpretrain MODELS; arguments as
    :class:`PretrainVideoResNet`.
    """

    temporal_registry = MMPRETRAIN_MODELS
