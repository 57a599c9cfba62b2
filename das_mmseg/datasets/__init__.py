from .camvid import CamVidDataset
from .checks import CheckSegLabels, DataCheckError
from .dataset_split import DatasetSplit, split_indices
from .loading import ImageInputError, LoadCheckedImage
from .random_shift_zoom import RandomShiftZoom
from .transforms import ImageToVideo
from .trivial_geometric import TrivialGeometricAugment

__all__ = [
    'CamVidDataset', 'CheckSegLabels', 'DataCheckError', 'ImageToVideo',
    'DatasetSplit', 'ImageInputError', 'LoadCheckedImage', 'split_indices',
    'RandomShiftZoom', 'TrivialGeometricAugment'
]
