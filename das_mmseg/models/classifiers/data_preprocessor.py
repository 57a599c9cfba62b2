"""The clip data preprocessor for mmpretrain (layout: see
:mod:`das_mmseg.models.data_preprocessor`)."""
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor
from mmpretrain.registry import MODELS

from ..data_preprocessor import ClipInputsMixin


@MODELS.register_module()
class ClipClsDataPreprocessor(ClipInputsMixin, ClsDataPreprocessor):
    """mmpretrain ``ClsDataPreprocessor`` for images and clips: clips come out
    as ``(N, T, C, H, W)``.

    Takes exactly the arguments of
    :class:`mmpretrain.models.ClsDataPreprocessor`. Batch augmentations
    (Mixup, CutMix) act on the packed ``(N, T*C, H, W)`` batch, so they mix or
    cut all frames of a clip alike.
    """

    _conversion_flag = 'to_rgb'

    def forward(self, data: dict, training: bool = False) -> dict:
        return self.process(data, super().forward, training)


__all__ = ['ClipClsDataPreprocessor']
