"""The models: temporal modules, video backbones, the clip cell, fusion and
the clip segmentor; the clip classifier when mmpretrain is installed. Each
family registers on import."""
from ..registry import mmpretrain_available
from .backbones import (MobileNetV2Sites, ResNetSites, TemporalConv2d,
                        VideoBackboneMixin, VideoMobileNetV2, VideoResNetV1c)
from .clip_cells import (ClipCell, build_clip_cell, decode_cell_state,
                         encode_cell_state)
from .data_preprocessor import ClipInputsMixin, ClipSegDataPreProcessor
from .fusion import FUSION_MODES
from .segmentors import ClipEncoderDecoder, FramePass
from .temporal import (GateShiftFuse, TemporalModule, TemporalShift,
                       temporal_shift)

__all__ = [
    'TemporalModule', 'TemporalShift', 'GateShiftFuse', 'temporal_shift',
    'TemporalConv2d', 'VideoBackboneMixin', 'ResNetSites', 'MobileNetV2Sites',
    'VideoResNetV1c', 'VideoMobileNetV2', 'ClipCell', 'build_clip_cell',
    'encode_cell_state', 'decode_cell_state', 'FUSION_MODES',
    'ClipInputsMixin', 'ClipSegDataPreProcessor', 'ClipEncoderDecoder',
    'FramePass'
]

if mmpretrain_available():
    from .backbones import (PretrainVideoMobileNetV2, VideoResNet,
                            VideoResNet_CIFAR)
    from .classifiers import ClipClsDataPreprocessor, ClipImageClassifier
    __all__ += [
        'VideoResNet', 'VideoResNet_CIFAR', 'PretrainVideoMobileNetV2',
        'ClipImageClassifier', 'ClipClsDataPreprocessor'
    ]
