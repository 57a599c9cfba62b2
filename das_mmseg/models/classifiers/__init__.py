from .clip_image_classifier import ClipImageClassifier

__all__ = ['ClipImageClassifier']
