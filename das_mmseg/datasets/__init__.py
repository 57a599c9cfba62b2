from .camvid import CamVidDataset
from .dataset_split import DatasetSplit, split_indices
from .transforms import ImageToVideo

__all__ = ['CamVidDataset', 'ImageToVideo', 'DatasetSplit', 'split_indices']
