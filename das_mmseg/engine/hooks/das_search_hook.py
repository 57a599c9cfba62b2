"""The old name of the DAS search, kept to point configs at the new one."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

# old hook argument -> where it went
MOVED = dict(
    search_iters='train_cfg.search_iters',
    search_epochs='train_cfg.search_epochs (DASEpochBasedTrainLoop)',
    mode='train_cfg.mode',
    interval='train_cfg.policy_interval',
    policy_portion='train_cfg.policy_portion',
    split_seed='train_cfg.split_seed',
    search_dataloader='train_cfg.policy_dataloader',
    policy_file='train_cfg.policy_file',
    optimizer='optim_wrapper.policy=dict(optimizer=...)',
    param_scheduler='param_scheduler=dict(model=[...], policy=[...])',
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
            'DASSearchHook was replaced by the DAS train loop: set '
            'train_cfg=dict(type="DASIterBasedTrainLoop" (or '
            '"DASEpochBasedTrainLoop"), max_iters=..., mode=..., '
            'search_iters=..., policy_interval=..., retrain=True, '
            'policy_portion=..., split_seed=..., policy_dataloader=..., '
            'policy_file=...), optim_wrapper=dict(constructor='
            '"DASOptimWrapperConstructor", ..., policy=dict(optimizer=...)), '
            'param_scheduler=dict(model=[...], policy=[...]) and '
            'custom_hooks=[dict(type="DASPolicyHook")]; see '
            'configs/_base_/das_search.py.' +
            (f' Your arguments: {moved}.' if moved else ''))
