from .camvid import CamVidDataset
from .dataset_split import DatasetSplit, split_indices
from .transforms import ImageToVideo  # noqa: F401

__all__ = ['CamVidDataset', 'DatasetSplit', 'split_indices']
