from .camvid import CamVidDataset
from .transforms import ImageToVideo  # noqa: F401

__all__ = ['CamVidDataset']
