"""das_mmseg: DAS (Your Image is My Video, CVPR 2024) as an MMSegmentation
extension.

``import das_mmseg`` checks the OpenMMLab stack and registers every component
in mmseg's (and, where they apply and mmpretrain is installed, mmpretrain's)
registries; it changes no behaviour of mmengine, mmseg or torch. The safe
checkpoint I/O is :mod:`das_mmseg.safe_io`, which the shipped configs import
(``custom_imports`` in ``_base_/default_runtime.py``). Importing it again is
harmless.
"""
from .utils.env import check_mmcv

check_mmcv()  # before mmseg: its own import fails obscurely on a bad mmcv

from . import datasets, engine, models, visualization  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
