from .camvid import CamVidDataset
from .checks import CheckSegLabels, DataCheckError  # noqa: F401
from .split import DatasetPart, split_indices  # noqa: F401
from .transforms import ImageToVideo  # noqa: F401

__all__ = ['CamVidDataset']
