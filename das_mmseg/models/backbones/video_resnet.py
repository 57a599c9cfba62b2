"""ResNets with temporal modules: mmseg's ``ResNetV1c``, its blocks left as
they are (mmpretrain's ``ResNet``: :mod:`.pretrain_backbones`)."""
from typing import List, Tuple

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
