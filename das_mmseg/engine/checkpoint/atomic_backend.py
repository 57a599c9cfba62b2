"""mmengine's local file backend with atomic writes."""
from mmengine.fileio import LocalBackend, register_backend

from ...utils.io import atomic_write


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
