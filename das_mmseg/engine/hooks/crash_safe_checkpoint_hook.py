"""A CheckpointHook whose every moment is a valid state to resume from."""
import os.path as osp
from collections import deque

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from das_mmseg.utils.io import atomic_write


@HOOKS.register_module()
class CrashSafeCheckpointHook(CheckpointHook):
    """mmengine's :class:`~mmengine.hooks.CheckpointHook`, with the steps of a
    save reordered so that a run killed at any moment can be resumed.

    mmengine 0.10.7 deletes the checkpoint that ``max_keep_ckpts`` retires
    *before* writing the new one, and rewrites ``last_checkpoint`` in place: a
    run killed during the save of ``iter_20.pth`` with ``max_keep_ckpts=1``
    has already deleted ``iter_10.pth`` and is left with nothing to resume
    from. Here a save (1) writes the new checkpoint (mmengine's own save;
    atomic where the local backend is :mod:`das_mmseg.safe_io`'s), (2) then
    replaces ``last_checkpoint`` atomically, (3) only then deletes retired
    checkpoints. Arguments and everything else are those of
    ``CheckpointHook``; ``tools/train.py`` uses this hook where a config
    names ``CheckpointHook``, and says so in the log.
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        # mmengine has no public seam between choosing the checkpoints to
        # retire and saving the new one: this private method does both, in
        # that order. Its own retiring is switched off for the call, and done
        # here after the save.
        # the bookkeeping first: the checkpoint records what is kept
        retired = self._keep(runner, step)
        keep, self.max_keep_ckpts = self.max_keep_ckpts, -1
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        # model-parallel saves gather on every rank; the files are rank 0's
        if not is_main_process():
            return
        atomic_write(
            osp.join(runner.work_dir, 'last_checkpoint'),
            str(self.last_ckpt).encode())
        for old_step in retired:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed saves folders
                self.file_backend.rmtree(path)

    def _keep(self, runner, step: int) -> list:
        """Record ``step`` among the kept checkpoints (``keep_ckpt_ids``, as
        mmengine keeps them in the message hub for a resume); return the
        steps to retire."""
        if self.max_keep_ckpts <= 0:
            return []
        kept = getattr(self, 'keep_ckpt_ids', None)
        if kept is None:
            kept = self.keep_ckpt_ids = deque(maxlen=self.max_keep_ckpts)
        # (an epoch may save twice, latest and best: count the step once)
        if kept and kept[-1] == step:
            return []
        retired = [kept.popleft()] if len(kept) == self.max_keep_ckpts else []
        kept.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(kept))
        return retired
