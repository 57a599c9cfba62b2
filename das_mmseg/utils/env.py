"""Checks of the OpenMMLab stack, run once when ``das_mmseg`` is imported.

They turn the stack's own late, cryptic failures (a missing compiled op deep
inside an import, an assertion in ``mmseg/__init__.py``) into one early error
that says what is wrong and how to fix it.
"""
import importlib

from packaging.version import Version

# mmsegmentation 1.2.x asserts mmcv>=2.0.0rc4,<2.2.0 at import.
MMCV_MIN = Version('2.0.0rc4')
MMCV_MAX = Version('2.2.0')

BUILD_HINT = (
    'Build the full mmcv with compiled ops from this repository: `make env` '
    '(it builds and caches the wheel once per machine), or `PYTHON=$(which '
    'python) tools/setup/build_mmcv.sh` in your own environment. See '
    'README.md, section "Installation".')


def check_mmcv() -> str:
    """Verify that mmcv is installed, of a supported version, and with its
    compiled ops.

    Returns:
        str: mmcv's version.

    Raises:
        ImportError: mmcv is missing, of an unsupported version, or is
            ``mmcv-lite`` / a build without ops.
    """
    try:
        mmcv = importlib.import_module('mmcv')
    except ImportError as e:
        raise ImportError(
            f'das_mmseg needs mmcv>={MMCV_MIN},<{MMCV_MAX} with compiled ops, '
            f'but mmcv is not installed ({e}). {BUILD_HINT}') from e
    version = Version(mmcv.__version__)
    if not MMCV_MIN <= version < MMCV_MAX:
        raise ImportError(
            f'mmcv=={mmcv.__version__} is installed, but mmsegmentation 1.2 '
            f'needs mmcv>={MMCV_MIN},<{MMCV_MAX}. {BUILD_HINT}')
    try:
        importlib.import_module('mmcv.ops')  # loads the compiled extension
    except ImportError as e:
        raise ImportError(
            f'mmcv=={mmcv.__version__} is installed without its compiled ops '
            f'({e}); this is `mmcv-lite` or a build with MMCV_WITH_OPS=0, and '
            f'mmseg cannot import its models without them. {BUILD_HINT}'
        ) from e
    return mmcv.__version__
