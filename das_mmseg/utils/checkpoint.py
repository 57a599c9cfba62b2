"""Safe checkpoint loading for mmengine on torch >= 2.6.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, and mmengine
0.10.7's resume fails on the objects its own checkpoints hold
(``HistoryBuffer`` in the message hub, numpy arrays and scalars in the logged
history). Turning ``weights_only`` off would let any checkpoint run arbitrary
pickled code on load. Instead we keep the safe unpickler and allow exactly the
types mmengine writes, then route every local checkpoint load (``--resume``,
``load_from``, ``init_cfg=dict(type='Pretrained')``, ``tools/test.py``) through
:func:`load_from_local`, which names the file and the offending type when a
checkpoint needs anything else.

It also makes checkpoints survive faults: a truncated or damaged file is an
error naming it and the way out (:class:`CorruptCheckpointError`, checked with
the CRC32 every zip member of a PyTorch checkpoint carries, which
``torch.load`` does not verify); ``--resume`` falls back to the newest intact
checkpoint (:func:`find_resumable_checkpoint`, :func:`resolve_resume`); every
local file mmengine writes (checkpoints included) is written atomically
(:class:`AtomicLocalBackend`).
"""
import logging
import os
import os.path as osp
import pickle
import re
import zipfile
import zlib
from typing import List, Optional

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import CheckpointLoader

from .io import atomic_write


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint whose unpickling would construct a type or call a function
    outside the allowlist."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file that is cut short, damaged or not a checkpoint."""


def checkpoint_damage(filename: str) -> Optional[str]:
    """Say why a local checkpoint file cannot be loaded whole, or return None
    when it is intact.

    PyTorch checkpoints are zip archives whose members carry a CRC32; a file
    cut short lacks the archive's central directory (at its end), and a
    damaged one fails a member's CRC. ``torch.load`` checks neither: it fails
    with ``PytorchStreamReader failed reading zip archive`` on the first, and
    loads wrong weights silently on the second. Reading the file costs about
    as much as loading it. Files in the legacy (pre-1.6, non-zip) format have
    no checksum and are left to ``torch.load``.

    Args:
        filename (str): An existing local file.

    Returns:
        str | None: A sentence part, e.g. ``'it is cut short (1234 bytes:
        the zip archive's end is missing)'``.
    """
    stat = os.stat(filename)
    key = (osp.realpath(filename), stat.st_size, stat.st_mtime_ns)
    if key not in _damage_of:
        # a file is read at most once per version (tools check it, then load)
        _damage_of.clear()
        _damage_of[key] = _find_damage(filename, stat.st_size)
    return _damage_of[key]


_damage_of: dict = {}


def _find_damage(filename: str, size: int) -> Optional[str]:
    if size == 0:
        return 'it is empty (0 bytes)'
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head[:1] == b'\x80':  # a pickle: the legacy format
        return None
    if head[:2] != b'PK':
        return ('it is not a PyTorch checkpoint (a zip archive starting with '
                f'"PK"; this file starts with {head!r})')
    try:
        with zipfile.ZipFile(filename) as archive:
            damaged = archive.testzip()
            names = archive.namelist()
    except zipfile.BadZipFile as e:
        if 'not a zip file' in str(e):  # no end record: the end is missing
            return (f'it is cut short ({size} bytes; the end of its zip '
                    'archive is missing)')
        return f'its zip archive is damaged ({size} bytes; {e})'
    except (OSError, EOFError, zlib.error) as e:
        return f'its zip archive is damaged ({type(e).__name__}: {e})'
    if damaged is not None:
        return (f'its member "{damaged}" is damaged (its CRC32 does not '
                'match the data)')
    if not any(n.endswith('data.pkl') for n in names):
        return 'it is a zip archive but not a PyTorch checkpoint (no data.pkl)'
    return None


def corrupt_checkpoint_message(filename: str,
                               damage: str,
                               source: str = '') -> str:
    """The error for a damaged checkpoint: the file, what is wrong, where it
    came from and what to do."""
    origin = f' (from {source})' if source else ''
    return (f'checkpoint "{filename}"{origin} cannot be loaded: {damage}. A '
            'run killed while saving, a full disk or an interrupted copy '
            'leaves such files. To continue a training run, '
            '`tools/train.py CONFIG --work-dir DIR --resume` picks the newest '
            'intact checkpoint of DIR; otherwise copy or download the file '
            'again, or use another checkpoint.')


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


def check_checkpoint_file(filename: str, source: str = '') -> str:
    """Raise a clear error unless ``filename`` is an intact local checkpoint;
    return it.

    Args:
        filename (str): The path.
        source (str): Where the path came from, for the message (e.g.
            ``'the CHECKPOINT argument'``, ``'load_from'``).

    Raises:
        FileNotFoundError: it does not exist or is a folder.
        CorruptCheckpointError: see :func:`checkpoint_damage`.
    """
    origin = f' ({source})' if source else ''
    if osp.isdir(filename):
        raise IsADirectoryError(
            f'checkpoint "{filename}"{origin} is a folder; pass a checkpoint '
            'file in it, e.g. the one its last_checkpoint names')
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint file "{filename}"{origin} does not exist')
    damage = checkpoint_damage(filename)
    if damage:
        raise CorruptCheckpointError(
            corrupt_checkpoint_message(filename, damage, source))
    return filename


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


_STEP = re.compile(r'(\d+)\.pth$')
# a *.pth of a DAS search's work dir that is no checkpoint: the weights it
# restarts from after the search (das_mmseg.engine.runner.initial_state)
INITIAL_STATE_FILE = 'das_initial_state.pth'


def checkpoints_in(folder: str) -> List[str]:
    """The checkpoint files (``*.pth``, not hidden, not a search's initial
    state) of a folder, newest first: by the step number ending the name
    (``iter_20.pth``), then ``best_*`` after the others, then by modification
    time."""
    if not osp.isdir(folder):
        return []
    paths = [
        osp.join(folder, name) for name in os.listdir(folder)
        if name.endswith('.pth') and not name.startswith('.')
        and name != INITIAL_STATE_FILE and osp.isfile(osp.join(folder, name))
    ]

    def newest_first(path):
        found = _STEP.search(osp.basename(path))
        return (int(found.group(1)) if found else -1,
                not osp.basename(path).startswith('best_'), osp.getmtime(path))

    return sorted(paths, key=newest_first, reverse=True)


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` should continue from: the one
    ``last_checkpoint`` names when it is intact, else the newest intact
    checkpoint of the folder, with a warning naming what was skipped and why.

    mmengine's auto-resume reads ``last_checkpoint`` and fails on a truncated
    file with ``PytorchStreamReader failed reading zip archive``; a work
    folder copied elsewhere holds absolute paths of the old place. Both are
    handled here.

    Args:
        work_dir (str): The run's work folder.

    Returns:
        str | None: None when the folder holds no ``last_checkpoint`` and no
        checkpoint (a fresh run).

    Raises:
        CorruptCheckpointError: the folder has checkpoints but none is intact.
    """
    _note_partial_files(work_dir)
    record = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip() or None
    folders = [work_dir]
    if named and osp.realpath(osp.dirname(named)) != osp.realpath(work_dir):
        folders.append(osp.dirname(named))  # a CheckpointHook out_dir
    candidates = []
    if named:
        moved = osp.join(work_dir, osp.basename(named))
        candidates.append(
            named if osp.isfile(named) or not osp.isfile(moved) else moved)
    for folder in folders:
        known = {osp.realpath(c) for c in candidates}
        candidates += [
            c for c in checkpoints_in(folder) if osp.realpath(c) not in known
        ]
    skipped = []
    if named is None and osp.isfile(record):
        skipped.append(f'"{record}" is empty')
    for path in candidates:
        if not osp.isfile(path):
            skipped.append(f'"{path}" (named by {record}) does not exist')
            continue
        damage = checkpoint_damage(path)
        if damage:
            skipped.append(f'"{path}": {damage}')
            continue
        if skipped or (named is None and path):
            reason = ('; '.join(skipped)
                      if skipped else f'"{record}" does not exist')
            print_log(
                f'--resume: {reason}. Resuming from "{path}", the newest '
                'intact checkpoint, instead: the iterations after it are '
                'trained again.',
                logger='current',
                level=logging.WARNING)
        elif path != named:
            print_log(
                f'--resume: "{named}" (named by {record}) is not there; '
                f'resuming from "{path}", the same file in this work_dir.',
                logger='current',
                level=logging.WARNING)
        return path
    if not skipped:
        return None
    raise CorruptCheckpointError(
        f'--resume: no intact checkpoint in "{work_dir}": '
        f'{"; ".join(skipped)}. Nothing was changed there. To start again '
        'from scratch, use another --work-dir (or move the damaged files '
        'away); to continue, put an intact checkpoint there.')


def _note_partial_files(work_dir: str) -> None:
    """Name the temporary files an interrupted atomic save left behind."""
    if not osp.isdir(work_dir):
        return
    partial = sorted(
        name for name in os.listdir(work_dir)
        if name.startswith('.') and name.endswith('.tmp'))
    if partial:
        print_log(
            f'--resume: "{work_dir}" holds {len(partial)} partial file(s) of '
            f'an interrupted save ({", ".join(partial[:3])}'
            f'{", ..." if len(partial) > 3 else ""}); they are never read and '
            'can be deleted.',
            logger='current',
            level=logging.INFO)


def resolve_resume(cfg) -> None:
    """Decide, before a Runner is built, which checkpoint ``resume=True``
    continues from, and write it into ``cfg.load_from``.

    With ``load_from`` set, that file must be intact. Otherwise
    :func:`find_resumable_checkpoint` chooses (mmengine would read
    ``last_checkpoint`` blindly). ``tools/train.py --resume`` calls this;
    Runner users call it on their config before ``Runner.from_cfg``.

    Args:
        cfg (mmengine.Config): Needs ``work_dir``; reads ``resume`` and
            ``load_from``.
    """
    if cfg.get('load_from'):
        path = cfg.load_from
        if '://' not in path:  # URLs are fetched and checked by mmengine
            check_checkpoint_file(path, 'load_from')
        return
    if not cfg.get('resume'):
        return
    path = find_resumable_checkpoint(cfg.work_dir)
    if path is None:
        print_log(
            f'--resume: "{cfg.work_dir}" holds no checkpoint yet; training '
            'starts from scratch. (Resuming another run? Pass its folder '
            'with --work-dir.)',
            logger='current',
            level=logging.WARNING)
        return
    cfg.load_from = path


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic.

    ``save_checkpoint`` (and ``mmengine.dump``, ``put_text``...) write local
    files through the backend registered for paths without a scheme.
    :class:`mmengine.fileio.LocalBackend` opens the destination with 'wb',
    so a run killed while saving leaves a truncated ``iter_N.pth`` (and, when
    the file existed, destroys it). Here the bytes go to a hidden temporary
    file that replaces the destination only when complete
    (:func:`das_mmseg.utils.io.atomic_write`); reading is unchanged.
    """

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(str(filepath), obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(str(filepath), obj.encode(encoding))


def register_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` the backend of local paths.

    It replaces the registered name 'local' (and the scheme-less prefix) on
    purpose: that entry is the only seam through which every local write of
    mmengine passes, and a subclass that changes only how bytes reach the
    disk keeps ``backend_args=dict(backend='local')`` working as before.
    Idempotent.
    """
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # backends made before (singletons of mmengine.fileio's functions): the
    # cache has no public reset, and a cached LocalBackend would keep
    # writing in place
    from mmengine.fileio import io as fileio_io
    instances = getattr(fileio_io, 'backend_instances', {})
    for key, backend in list(instances.items()):
        if type(backend) is LocalBackend:
            del instances[key]


def register_checkpoint_loader() -> None:
    """Route mmengine's local checkpoint loading (scheme prefix '') through
    :func:`load_from_local`, and its local writes through
    :class:`AtomicLocalBackend`."""
    register_safe_globals()
    register_atomic_local_backend()
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
