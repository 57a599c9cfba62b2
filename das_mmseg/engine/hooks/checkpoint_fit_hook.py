"""Refuse, in a Runner, a checkpoint that does not fit the model."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...utils.checkpoint_fit import check_checkpoint_fits


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Check every checkpoint the Runner loads (``load_from``, ``--resume``,
    ``tools/test.py``) against the model before its weights are loaded, and
    refuse one that does not fit (:func:`das_mmseg.utils.checkpoint_fit.
    check_checkpoint_fits`: a large share of the model left unloaded or of
    the checkpoint unused, or a clip cell on one side only). It only reads
    the checkpoint.

    ``tools/train.py`` and ``tools/test.py`` add it as
    ``default_hooks.checkpoint_fit`` to every config
    (:func:`das_mmseg.utils.launch.check_loaded_checkpoints`); in your own
    scripts add ``default_hooks=dict(checkpoint_fit=dict(
    type='CheckpointFitHook'))``.

    Args:
        allow_partial (bool): Load any checkpoint (mmengine's behaviour: the
            keys that do not match are listed in the log), e.g. to start
            from the weights of another model on purpose.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_partial: bool = False) -> None:
        self.allow_partial = allow_partial

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.allow_partial:
            return
        source = runner.cfg.get('load_from') or 'the checkpoint'
        check_checkpoint_fits(
            runner.model, checkpoint, f'the checkpoint "{source}"',
            '--cfg-options default_hooks.checkpoint_fit.allow_partial=True')
