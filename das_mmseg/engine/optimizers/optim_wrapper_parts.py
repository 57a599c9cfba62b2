"""The two optimizer wrappers of a DAS run, taken apart again for the loop.

:class:`DASOptimWrapperConstructor` builds ``optim_wrapper['model']`` and
``optim_wrapper['policy']``; the loop steps them separately and schedules
only the weights'.
"""
from typing import Optional, Tuple

from mmengine.optim import OptimWrapper, OptimWrapperDict

from ..utils import plain


def split_optim_wrappers(
        optim_wrapper, param_schedulers, scheduler_cfg, mode: str,
        user: str) -> Tuple[OptimWrapper, Optional[OptimWrapper], list]:
    """The weight wrapper, the policy wrapper and the weight schedulers of a
    DAS run.

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): ``runner.
            optim_wrapper``.
        param_schedulers (list | dict | None): ``runner.param_schedulers``.
        scheduler_cfg: The ``param_scheduler`` config.
        mode (str): The loop's mode.
        user (str): Who asks, for the messages.

    Returns:
        tuple: ``optim_wrapper['model']``, ``optim_wrapper['policy']`` (None
        for a single wrapper in mode ``'train'``) and the weight schedulers.

    Raises:
        TypeError: Not the wrappers of ``DASOptimWrapperConstructor``, or one
            list of schedulers for both wrappers.
    """
    if isinstance(optim_wrapper, OptimWrapperDict):
        if sorted(optim_wrapper.keys()) != ['model', 'policy']:
            raise TypeError(
                f'{user} needs optim_wrapper["model"] and '
                'optim_wrapper["policy"], but got '
                f'{sorted(optim_wrapper.keys())}; use optim_wrapper=dict('
                'constructor="DASOptimWrapperConstructor", ...)')
        if scheduler_cfg is not None and not (isinstance(scheduler_cfg, dict)
                                              and 'type' not in scheduler_cfg):
            # mmengine would build the same schedulers on both wrappers
            raise TypeError(
                f'{user}: param_scheduler must give the schedulers of each '
                'optimizer, dict(model=[...], policy=[...]); a list would '
                'schedule the policy optimizer with the weights\' schedule. '
                f'Got {plain(scheduler_cfg)!r}')
        weight_schedulers = (
            param_schedulers.get('model', []) if isinstance(
                param_schedulers, dict) else [])
        return (optim_wrapper['model'], optim_wrapper['policy'],
                weight_schedulers)
    if mode != 'train':
        raise TypeError(
            f'{user} in mode {mode!r} needs an optimizer for the weights and '
            'one for the policy: set optim_wrapper=dict(constructor='
            f'"DASOptimWrapperConstructor", ...), got '
            f'{type(optim_wrapper).__name__}')
    return optim_wrapper, None, list(param_schedulers or [])
