"""Which checkpoint ``--resume`` continues from.

``--resume`` falls back to the newest intact checkpoint when the one
``last_checkpoint`` names is damaged or missing
(:func:`find_resumable_checkpoint`, :func:`resolve_resume`).
"""
import logging
import os
import os.path as osp
import re
from typing import List, Optional

from mmengine.logging import print_log

from .damage import (CorruptCheckpointError, check_checkpoint_file,
                     checkpoint_damage)

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
