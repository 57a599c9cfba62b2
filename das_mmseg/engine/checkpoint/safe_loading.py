"""Safe checkpoint loading for mmengine on torch >= 2.6.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, and mmengine
0.10.7's resume fails on the objects its own checkpoints hold
(``HistoryBuffer`` in the message hub, numpy arrays and scalars in the logged
history). Turning ``weights_only`` off would let any checkpoint run arbitrary
pickled code on load. Instead we keep the safe unpickler and allow exactly the
types mmengine writes; :func:`register_checkpoint_loader` (called by
:mod:`das_mmseg.safe_io`, which the configs import) routes every local
checkpoint load (``--resume``, ``load_from``, ``init_cfg=dict(type=
'Pretrained')``, ``tools/test.py``) through :func:`load_from_local`, which
names the file and the offending type when a checkpoint needs anything else,
and every local write through :class:`AtomicLocalBackend`.
"""
import os.path as osp
import pickle
import re
import zipfile

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader

from .atomic_backend import register_atomic_local_backend
from .damage import (CorruptCheckpointError, check_checkpoint_file,
                     corrupt_checkpoint_message)


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint whose unpickling would construct a type or call a function
    outside the allowlist."""


def _numpy_globals() -> list:
    """The numpy pieces needed to unpickle arrays, dtypes and scalars (numpy
    1.x and 2.x module paths)."""
    core = getattr(np, '_core', None) or np.core
    dtype_classes = [
        type(np.dtype(t)) for t in np.sctypeDict.values() if t is not np.void
    ]
    scalar_types = sorted(
        {t
         for t in np.sctypeDict.values() if t is not np.void}, key=str)
    return [
        core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray,
        np.dtype, *sorted(set(dtype_classes), key=str), *scalar_types
    ]


def history_buffer_method(owner: type, name: str):
    """The only ``getattr`` a checkpoint may call: a statistics method of
    mmengine's ``HistoryBuffer``.

    ``HistoryBuffer.__getstate__`` pickles its statistics methods (``min``,
    ``max``, ``current``, ``mean`` and any registered ones), which pickle
    writes as ``getattr(HistoryBuffer, 'min')``. Allowing the real ``getattr``
    would let a checkpoint reach any attribute of any object
    (and from there ``eval``); this stand-in serves those methods and refuses
    everything else.
    """
    # HistoryBuffer has no public list of its statistics methods (the ones
    # registered with HistoryBuffer.register_statistics); the built-in four
    # are named as well should that private dict change
    if owner is HistoryBuffer and not name.startswith('_') and (
            name in getattr(HistoryBuffer, '_statistics_methods', {})
            or name in ('min', 'max', 'current', 'mean')):
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        'a checkpoint may only look up HistoryBuffer statistics methods, but '
        'this one asks '
        f'for getattr({getattr(owner, "__qualname__", type(owner).__name__)}, '
        f'{name!r})')


SAFE_GLOBALS = [
    HistoryBuffer, *_numpy_globals(),
    (history_buffer_method, 'builtins.getattr')
]


def register_safe_globals() -> None:
    """Allow the types mmengine checkpoints contain in torch's ``weights_only``
    unpickler. Idempotent."""
    torch.serialization.add_safe_globals(SAFE_GLOBALS)


def load_from_local(filename: str, map_location=None) -> dict:
    """Load a local checkpoint with torch's safe (``weights_only``) unpickler.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | torch.device, optional): Same as
            :func:`torch.load`.

    Returns:
        dict: The checkpoint (an mmengine checkpoint or a plain state dict).

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        CorruptCheckpointError: the file is cut short, damaged or not a
            checkpoint.
        UnsafeCheckpointError: unpickling would need a type or function outside
            the allowlist.
    """
    filename = osp.expanduser(filename)
    check_checkpoint_file(filename)
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except UnsafeCheckpointError as e:
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint "{filename}": {e}.') from None
    except Exception as e:
        # torch raises pickle.UnpicklingError or a RuntimeError naming the
        # global
        msg = str(e)
        if ('Weights only load failed' not in msg
                and 'Unsupported global' not in msg):
            if isinstance(e, (RuntimeError, EOFError, pickle.UnpicklingError,
                              zipfile.BadZipFile)):
                raise CorruptCheckpointError(
                    corrupt_checkpoint_message(
                        filename, f'torch.load fails: {e}')) from e
            raise
        found = re.search(r'GLOBAL ([\w.]+)', msg)
        offender = found.group(1) if found else 'an object'
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint "{filename}": unpickling it would '
            f'construct or call {offender}, which is not among the types a '
            'model or training checkpoint needs, and loading it could run '
            'arbitrary code. Only load files you trust; if you trust this '
            f'one and {offender} is a plain data type, allow it with '
            f'`torch.serialization.add_safe_globals([{offender}])` before '
            'loading.') from None


def register_checkpoint_loader() -> None:
    """Route mmengine's local checkpoint loading (scheme prefix '') through
    :func:`load_from_local`, and its local writes through
    :class:`AtomicLocalBackend`."""
    register_safe_globals()
    register_atomic_local_backend()
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
