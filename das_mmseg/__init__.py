"""das_mmseg: DAS (Your Image is My Video, CVPR 2024) as an MMSegmentation
extension.

``import das_mmseg`` checks the OpenMMLab stack, installs the safe checkpoint
loader and the checked ``Pretrained`` weight initializer, and registers every
component in mmseg's (and, where they apply and mmpretrain is installed,
mmpretrain's) registries. Importing it again is harmless.
"""
from .utils.env import check_mmcv

check_mmcv()  # before mmseg: its own import fails obscurely on a bad mmcv

from . import datasets, engine, models, visualization  # noqa: E402,F401
from .utils.checkpoint import register_checkpoint_loader  # noqa: E402
from .utils.pretrained import register_pretrained_init  # noqa: E402
from .version import __version__  # noqa: E402

register_checkpoint_loader()
register_pretrained_init()

__all__ = ['__version__']
