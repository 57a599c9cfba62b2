"""MobileNetV2s with temporal modules: mmseg's ``MobileNetV2``, its blocks
left as they are (mmpretrain's: :mod:`.pretrain_backbones`)."""
from typing import List, Tuple

from mmseg.models.backbones import MobileNetV2
from mmseg.registry import MODELS
from torch import nn

from .temporal_insertion import VideoBackboneMixin


class MobileNetV2Sites:
    """Residual blocks of an mmseg or mmpretrain MobileNetV2: the inverted
    residuals with an identity shortcut (stride 1, same channels). Their
    branch's first conv is the 1x1 expansion, its last the 1x1 projection."""

    def temporal_sites(
            self) -> List[List[Tuple[nn.Module, str, nn.Module, str]]]:
        stages = [
            getattr(self, name) for name in self.layers
            if name.startswith('layer')
        ]
        return [[(block.conv[0], 'conv', block.conv[-1], 'conv')
                 for block in stage if block.use_res_connect]
                for stage in stages]


@MODELS.register_module()
class VideoMobileNetV2(MobileNetV2Sites, VideoBackboneMixin, MobileNetV2):
    """mmseg ``MobileNetV2`` with a temporal module in its residual blocks
    (default: GSF in every one).

    Arguments: those of :class:`VideoBackboneMixin` (``num_segments``,
    ``temporal``, ``temporal_stages`` — 7 flags, ``temporal_interval``,
    ``temporal_position``) and of mmseg's ``MobileNetV2``. The state dict is
    the 2-D one's plus ``layer*.*.conv.*.conv.temporal.*``.
    """

    temporal_registry = MODELS
