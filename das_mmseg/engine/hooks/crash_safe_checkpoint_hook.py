"""A CheckpointHook whose every moment is a valid state to resume from."""
import os.path as osp

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
    from. Here a save (1) writes the new checkpoint (atomically, through
    :class:`das_mmseg.utils.checkpoint.AtomicLocalBackend`), (2) then
    replaces ``last_checkpoint`` atomically, (3) only then deletes retired
    checkpoints. Arguments and everything else are those of
    ``CheckpointHook``; ``tools/train.py`` uses this hook where a config
    names ``CheckpointHook``.
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        retired = []
        # (an epoch may save twice, latest and best: count the step once)
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                retired.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
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
