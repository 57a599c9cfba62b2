"""Compose a config's search settings (``das_search``) with its schedule.

A DAS config chooses its search the way it chooses its model, data and
schedule: a base of its own (``configs/_base_/search/*.py``, as mmrazor's
``settings/``), listed beside any schedule, mmseg's included. mmengine refuses
a top-level key that two sibling bases both define, and both the search and a
schedule speak of ``train_cfg``, ``optim_wrapper`` and ``param_scheduler``; so
the search base states everything under one key of its own, ``das_search``,
and :func:`compose_search` writes it into the schedule's keys when the runner
is built (:class:`DASSearchRunner`, named by the search base's
``runner_type``)::

    das_search = dict(
        search_iters=250,             # or search_epochs: the search's length
        mode='search_and_train',      # ... the DAS loop's settings
        policy_interval=1, retrain=True, policy_portion=0.5, split_seed=0,
        policy_file=None,
        policy_optim_wrapper=dict(    # α's optimizer -> optim_wrapper.policy
            type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-4)),
        magnitude_lr=None,            # -> optim_wrapper.magnitude_lr
        policy_param_scheduler=[])    # -> param_scheduler['policy']

becomes, on a schedule with ``IterBasedTrainLoop``, one optimizer and a list
of schedulers::

    train_cfg = dict(type='DASIterBasedTrainLoop', <the schedule's>,
                     search_iters=250, mode=..., ...)
    optim_wrapper = dict(constructor='DASOptimWrapperConstructor',
                         <the schedule's>, policy=..., magnitude_lr=None)
    param_scheduler = dict(model=<the schedule's list>, policy=[])

mmengine's two train loops become their DAS twins; any other loop, and any
optimizer constructor but mmengine's default, is refused (the search needs its
own). A setting is stated in one place: one that ``das_search`` states and the
schedule's keys state too (``--cfg-options train_cfg.mode=search`` on a config
with ``das_search``) is an error naming both and the key to set. A config
without ``das_search`` (a config dumped by a run, which holds the composed
keys; the tests' hand-written configs) is returned unchanged.
"""
import copy

from mmengine.config import Config, ConfigDict

from .loop_settings import UNITS, DASLoopSettings

#: ``das_search`` keys that become ``train_cfg`` keys of the DAS loop: the
#: search's length in either unit and the loop's settings
LOOP_KEYS = (*(keys['search']
               for keys in UNITS.values()), *DASLoopSettings.setting_names())
#: ``das_search`` keys that become ``optim_wrapper`` keys of
#: ``DASOptimWrapperConstructor``
OPTIM_KEYS = dict(policy_optim_wrapper='policy', magnitude_lr='magnitude_lr')
#: the ``das_search`` key of α's parameter schedulers
SCHEDULER_KEY = 'policy_param_scheduler'
SEARCH_KEYS = (*LOOP_KEYS, *OPTIM_KEYS, SCHEDULER_KEY)

#: mmengine's train loops and their DAS twins
DAS_LOOPS = dict(
    IterBasedTrainLoop='DASIterBasedTrainLoop',
    EpochBasedTrainLoop='DASEpochBasedTrainLoop')
CONSTRUCTOR = 'DASOptimWrapperConstructor'


def _schedule_dict(cfg, key: str) -> dict:
    """The schedule's ``key``, which must be a dict."""
    value = cfg.get(key)
    if not isinstance(value, dict):
        raise ValueError(
            f'das_search needs a schedule: the config has no {key} dict '
            '(list a schedule base, e.g. _base_/schedules/'
            f'das_schedule_20k.py), got {key}={value!r}')
    return value


def _fill(target: dict, name: str, keys: dict, search: dict) -> None:
    """Write ``search[key]`` into ``target[keys[key]]`` for the keys
    ``search`` states; one the schedule states too is an error."""
    for key, target_key in keys.items():
        if key not in search:
            continue
        if target_key in target:
            raise ValueError(
                f'das_search.{key}={search[key]!r} and {name}.{target_key}='
                f'{target[target_key]!r}: a config with das_search states its '
                f'search settings there only (the runner writes them into '
                f'{name}); set das_search.{key} (e.g. --cfg-options '
                f'das_search.{key}=...) and drop {name}.{target_key}')
        target[target_key] = search[key]


def _loop_cfg(cfg, search: dict) -> dict:
    """``train_cfg`` with the DAS loop and the loop keys of ``search``."""
    train_cfg = _schedule_dict(cfg, 'train_cfg')
    loop = train_cfg.get('type')
    if loop is None:
        # mmengine's shorthand: by_epoch chooses the loop
        loop = ('EpochBasedTrainLoop'
                if train_cfg.pop('by_epoch', False) else 'IterBasedTrainLoop')
    if loop in DAS_LOOPS:
        loop = DAS_LOOPS[loop]
    elif loop not in DAS_LOOPS.values():
        raise ValueError(
            f'das_search: train_cfg.type={loop!r} cannot run the DAS search; '
            f'the schedule must use one of {sorted(DAS_LOOPS)} (which become '
            f'{sorted(DAS_LOOPS.values())}) or name a DAS loop itself')
    train_cfg['type'] = loop
    _fill(train_cfg, 'train_cfg', {key: key for key in LOOP_KEYS}, search)
    return train_cfg


def _optim_cfg(cfg, search: dict) -> dict:
    """``optim_wrapper`` built by ``DASOptimWrapperConstructor``, with α's
    wrapper and the magnitudes' lr of ``search``."""
    optim_wrapper = _schedule_dict(cfg, 'optim_wrapper')
    constructor = optim_wrapper.get('constructor',
                                    'DefaultOptimWrapperConstructor')
    if constructor not in ('DefaultOptimWrapperConstructor', CONSTRUCTOR):
        raise ValueError(
            f'das_search: optim_wrapper.constructor={constructor!r} cannot '
            'build the search\'s two optimizers; the search uses '
            f'{CONSTRUCTOR}, which builds the weights\' optimizer as '
            'mmengine\'s default constructor does (paramwise_cfg included): '
            'drop the constructor')
    optim_wrapper['constructor'] = CONSTRUCTOR
    _fill(optim_wrapper, 'optim_wrapper', OPTIM_KEYS, search)
    return optim_wrapper


def _scheduler_cfg(param_scheduler, search: dict) -> dict:
    """``param_scheduler`` per optimizer wrapper: the schedule's for the
    weights (``model``), ``search``'s for α (``policy``)."""
    policy = search.get(SCHEDULER_KEY, [])
    if param_scheduler is None:
        return dict(model=[], policy=policy)
    per_wrapper = isinstance(param_scheduler,
                             dict) and 'type' not in param_scheduler
    if not per_wrapper:
        return dict(model=param_scheduler, policy=policy)
    unknown = sorted(set(param_scheduler) - {'model', 'policy'})
    if unknown:
        raise ValueError(
            f'das_search: param_scheduler has schedulers for {unknown}; the '
            'search has two optimizer wrappers, model (the weights) and '
            'policy (α, from das_search.policy_param_scheduler)')
    _fill(param_scheduler, 'param_scheduler', {SCHEDULER_KEY: 'policy'},
          search)
    param_scheduler.setdefault('model', [])
    param_scheduler.setdefault('policy', policy)
    return param_scheduler


def compose_search(cfg: Config) -> Config:
    """The config with ``das_search`` written into ``train_cfg``,
    ``optim_wrapper`` and ``param_scheduler`` (see the module docstring),
    and ``das_search`` removed; a config without it, unchanged.

    Args:
        cfg (Config | dict): A loaded config (``--cfg-options`` merged).

    Returns:
        Config: A new config; ``cfg`` is not modified.

    Raises:
        ValueError: ``das_search`` is not a dict or has an unknown key; the
            schedule's loop or optimizer constructor cannot run the search;
            a setting is stated both in ``das_search`` and in the schedule's
            keys. The message names the keys and the fix.
    """
    if 'das_search' not in cfg:
        return cfg
    # the one copy: the parts below are edited and moved in place
    cfg = copy.deepcopy(cfg if isinstance(cfg, Config) else Config(cfg))
    search = cfg.pop('das_search')
    if not isinstance(search, dict):
        raise ValueError('das_search must be a dict of search settings '
                         f'({list(SEARCH_KEYS)}), got {search!r}')
    unknown = sorted(set(search) - set(SEARCH_KEYS))
    if unknown:
        raise ValueError(f'das_search has no setting {unknown}; its settings '
                         f'are {list(SEARCH_KEYS)}')
    cfg['train_cfg'] = ConfigDict(_loop_cfg(cfg, search))
    cfg['optim_wrapper'] = ConfigDict(_optim_cfg(cfg, search))
    cfg['param_scheduler'] = _scheduler_cfg(cfg.get('param_scheduler'), search)
    return cfg
