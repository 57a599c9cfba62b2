"""File writing that never leaves a partial file behind."""
import os
import os.path as osp
import tempfile


def _current_umask() -> int:
    """The process's umask (read once; setting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# the permissions open() would give a new file: mkstemp's temporary file is
# private (0600), which would hide checkpoints from a team's other accounts
NEW_FILE_MODE = 0o666 & ~_current_umask()


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the
    new one, never a partial one.

    The bytes go to a hidden temporary file in the same folder (same file
    system: ``.NAME<random>.tmp``), are fsynced, then ``os.replace`` swaps it
    in, which is atomic on POSIX and Windows. A process killed while writing
    leaves that temporary file behind and ``path`` untouched. A symbolic link
    at ``path`` is written through (its target is replaced), and the file
    gets the permissions ``open()`` would give it (the old file's, when it
    existed).
    """
    path = osp.realpath(path)
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(path), suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be
    opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
