"""File writing that never leaves a partial file behind."""
import os
import os.path as osp
import tempfile


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the
    new one, never a partial one.

    The bytes go to a temporary file in the same folder (same file system), are
    fsynced, then ``os.replace`` swaps it in, which is atomic on POSIX and
    Windows.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(path), suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise
