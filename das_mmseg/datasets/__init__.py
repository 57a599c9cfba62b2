from .camvid import CamVidDataset
from .split import DatasetPart, split_indices
from .transforms import ImageToVideo

__all__ = ['CamVidDataset', 'ImageToVideo', 'DatasetPart', 'split_indices']
