"""The old name of the DAS search, kept to point configs at the new one."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

# old hook argument -> where it went
MOVED = dict(
    search_iters='das_search.search_iters',
    search_epochs='das_search.search_epochs (epoch-based schedules)',
    mode='das_search.mode',
    interval='das_search.policy_interval',
    policy_portion='das_search.policy_portion',
    split_seed='das_search.split_seed',
    search_dataloader='das_search.policy_dataloader',
    policy_file='das_search.policy_file',
    optimizer='das_search.policy_optim_wrapper=dict(optimizer=...)',
    param_scheduler='das_search.policy_param_scheduler=[...]',
    log_interval='custom_hooks=[dict(type="DASPolicyHook", interval=...)]',
    policy_filename='DASPolicyHook(policy_filename=...)')


@HOOKS.register_module()
class DASSearchHook(Hook):
    """Removed: the DAS search is a train loop now.

    Raises:
        ValueError: Always, naming the new config keys of every given
            argument.
    """

    def __init__(self, **kwargs) -> None:
        moved = '; '.join(f'{key} -> {MOVED.get(key, "(no longer used)")}'
                          for key in kwargs)
        raise ValueError(
            'DASSearchHook was replaced by the DAS train loop: list a search '
            'base beside the schedule (configs/_base_/search/'
            'das_first_order.py, which names runner_type='
            '"DASSearchRunner" and DASPolicyHook) and set its settings under '
            'das_search=dict(search_iters=..., mode=..., '
            'policy_interval=..., ...).' +
            (f' Your arguments: {moved}.' if moved else ''))
