"""Refuse, in a Runner, a checkpoint that does not fit the model, or a
resume that would drop a changed learning rate."""
import math

from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS

from ..checkpoint.fit import check_checkpoint_fits


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Check every checkpoint the Runner loads (``load_from``, ``--resume``,
    ``tools/test.py``) against the model before its weights are loaded, and
    refuse one that does not fit (:func:`das_mmseg.engine.checkpoint.fit.
    check_checkpoint_fits`: a large share of the model left unloaded or of
    the checkpoint unused, or a clip cell on one side only). On a resume it
    also refuses a learning rate changed since the checkpoint: the resume
    restores the checkpoint's optimizer and schedules, which would drop the
    new value without a word. It only reads the checkpoint.

    ``tools/train.py`` and ``tools/test.py`` add it as
    ``default_hooks.checkpoint_fit`` to every config
    (:func:`das_mmseg.launch.check_loaded_checkpoints`); in your own
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
        source = runner.cfg.get('load_from') or 'the checkpoint'
        if not self.allow_partial:
            check_checkpoint_fits(
                runner.model, checkpoint, f'the checkpoint "{source}"',
                '--cfg-options default_hooks.checkpoint_fit.allow_partial='
                'True')
        if runner.cfg.get('resume') and 'optimizer' in checkpoint:
            check_resumed_learning_rates(runner.optim_wrapper,
                                         checkpoint['optimizer'], source)


def check_resumed_learning_rates(optim_wrapper, saved: dict,
                                 source: str) -> None:
    """Refuse a resume whose configured learning rates (each parameter
    group's, as the schedules start from them) differ from the checkpoint's.

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): The run's, built
            from the config (not yet loaded).
        saved (dict): The checkpoint's ``optimizer`` state.
        source (str): The checkpoint, for the message.

    Raises:
        ValueError: Naming the optimizer, the group, both values and what to
            do instead.
    """
    if isinstance(optim_wrapper, OptimWrapperDict):
        pairs = [(f'optim_wrapper[{name!r}]', optim_wrapper[name],
                  saved.get(name)) for name in optim_wrapper.keys()]
    else:
        pairs = [('optim_wrapper', optim_wrapper, saved)]
    for name, wrapper, state in pairs:
        if not state or 'param_groups' not in state:
            continue
        groups = zip(wrapper.optimizer.param_groups, state['param_groups'])
        for index, (now, then) in enumerate(groups):
            new = now.get('initial_lr', now['lr'])
            old = then.get('initial_lr', then['lr'])
            if not math.isclose(new, old, rel_tol=1e-9, abs_tol=0.0):
                raise ValueError(
                    f'Resuming from "{source}": the learning rate of '
                    f'{name} (parameter group {index}) was {old!r} when the '
                    f'checkpoint was written and is {new!r} now; a resume '
                    'restores the checkpoint\'s optimizer and schedules, so '
                    'the new value would be dropped. Resume with the old '
                    'value, or start a new run from its weights (load_from '
                    'without --resume).')
