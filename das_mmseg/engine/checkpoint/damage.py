"""Whether a checkpoint file can be loaded whole, said before it is loaded.

A truncated or damaged file is an error naming it and the way out
(:class:`CorruptCheckpointError`), checked with the CRC32 every zip member of
a PyTorch checkpoint carries, which ``torch.load`` does not verify.
"""
import os
import os.path as osp
import zipfile
import zlib
from typing import Optional


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
