"""Classification with clips (mmpretrain): imported by
:mod:`das_mmseg.models` only when mmpretrain is installed."""
from .clip_image_classifier import ClipImageClassifier
from .data_preprocessor import ClipClsDataPreprocessor

__all__ = ['ClipImageClassifier', 'ClipClsDataPreprocessor']
