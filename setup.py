"""das_mmseg: DAS (Your Image is My Video, CVPR 2024) as an MMSegmentation
extension.

mmcv is deliberately not a requirement: PyPI has only its source distribution,
which does not build on a current torch unchanged. Build it with
``tools/setup/build_mmcv.sh`` (or ``make env``) or bring your own;
``import das_mmseg`` says clearly when it is missing.
"""
import os.path as osp
from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'das_mmseg', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='das_mmseg',
    version=read_version(),
    description=('Image-to-video differentiable augmentation search (DAS) for '
                 'MMSegmentation and MMPretrain'),
    long_description=__doc__,
    packages=find_packages(include=['das_mmseg', 'das_mmseg.*']),
    python_requires='>=3.9',
    install_requires=[
        # torch.serialization.add_safe_globals, used by the safe checkpoint
        # loader
        'torch>=2.4',
        'mmengine>=0.10.7,<1.0',
        'mmsegmentation>=1.2.2,<1.3',
        'numpy',
        'matplotlib',
    ],
    extras_require={
        'cls': ['mmpretrain>=1.2.0,<1.3'],
        'tests': ['pytest', 'tensorboard'],
    },
    license='Apache License 2.0',
    zip_safe=False,
)
