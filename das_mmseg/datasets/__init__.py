from .camvid import CamVidDataset
from .transforms import ImageToVideo  # noqa: F401

__all__ = ['CamVidDataset']
from .split import DatasetPart, split_indices  # noqa: F401
