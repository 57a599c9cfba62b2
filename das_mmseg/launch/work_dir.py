"""The work folder of a run: writable, not an earlier run's (unless asked),
and the earlier run's config dump kept when a resume is refused."""
import contextlib
import os
import os.path as osp
from typing import Iterator

from mmengine.config import Config

from ..utils.io import atomic_write


def check_work_dir(work_dir: str, source: str) -> None:
    """Raise a clear error when the work folder cannot be created or written
    (the Runner would fail after building the model and data).

    Args:
        work_dir (str): The folder.
        source (str): Where it came from (``'--work-dir'``, ...).
    """
    if osp.exists(work_dir) and not osp.isdir(work_dir):
        raise NotADirectoryError(
            f'the work folder "{work_dir}" ({source}) is a file; pass a '
            'folder to --work-dir')
    existing = osp.abspath(work_dir)
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(
            f'the work folder "{work_dir}" ({source}) cannot be written: '
            f'"{existing}" is not writable by this user. Pass a writable '
            'folder with --work-dir.')


#: files of a run that a fresh run into the same folder would overwrite
RUN_FILES = ('last_checkpoint', 'das_policy.json')


def check_fresh_work_dir(cfg: Config) -> None:
    """Refuse a fresh run (no ``--resume``) into a work folder that holds
    an earlier run's checkpoints or policy: mmengine would overwrite its
    ``iter_N.pth``, ``das_policy.json`` and ``last_checkpoint`` without a
    word.

    Args:
        cfg (Config): Reads ``work_dir`` and ``resume``.

    Raises:
        FileExistsError: Names the folder, what it holds and the three ways
            on: ``--resume``, another ``--work-dir``, ``--overwrite``.
    """
    work_dir = cfg.get('work_dir')
    if cfg.get('resume') or not work_dir or not osp.isdir(work_dir):
        return
    found = sorted(
        name for name in os.listdir(work_dir)
        if name.endswith('.pth') or name in RUN_FILES)
    if not found:
        return
    shown = ', '.join(
        found[:6]) + (f' and {len(found) - 6} more' if len(found) > 6 else '')
    raise FileExistsError(
        f'the work folder "{work_dir}" holds an earlier run ({shown}), which '
        'a fresh run would overwrite. Continue that run with --resume, train '
        'into another folder with --work-dir (e.g. the second stage of a '
        'two-stage search: mode=\'train\' reads the policy file from the '
        'first stage\'s folder), or pass --overwrite to train anew into this '
        'one.')


@contextlib.contextmanager
def earlier_config_dump_kept(cfg: Config) -> Iterator[None]:
    """Put the earlier run's config dump back when this run fails before
    saving a checkpoint.

    A Runner writes its config to ``<work_dir>/<config file name>`` when it
    is built; a resume refused at its start (a changed learning rate, a
    checkpoint that does not fit) would otherwise leave the refused settings
    in the folder of the run it refused to touch.
    """
    work_dir, name = cfg.get('work_dir'), getattr(cfg, 'filename', None)
    path = osp.join(work_dir, osp.basename(name)) if work_dir and name \
        else None

    def checkpoints():
        return sorted(f for f in os.listdir(work_dir)
                      if f.endswith('.pth')) if osp.isdir(work_dir) else []

    earlier = None
    if path and osp.isfile(path):
        with open(path, 'rb') as f:
            earlier = f.read()
        saved = checkpoints()
    try:
        yield
    except BaseException:
        if earlier is not None and checkpoints() == saved:
            atomic_write(path, earlier)
        raise
