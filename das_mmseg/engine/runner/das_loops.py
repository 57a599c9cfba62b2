"""The DAS train loops: search the clip cell's policy, derive it, then train
with it, in one run.

The paper's protocol (first-order DARTS, then retraining) as an MMEngine train
loop, like mmrazor's ``DartsIterBasedTrainLoop``: the loop owns the
dataloaders (the weight part and the policy part of a seeded split of the
training set, and the whole set) and the phases; the optimizers come from
:class:`DASOptimWrapperConstructor` (``optim_wrapper['model']`` for the
weights, ``optim_wrapper['policy']`` for α); the α step is
:func:`das_mmseg.engine.arch_step`. No runner object is edited: the loop
chooses which of its dataloaders to draw from and which wrapper to pass to
``train_step``, and restores the weights, the weight optimizer and the weight
schedulers through their ``state_dict()``/``load_state_dict()``.

Phases, with ``retrain=True`` (the default, the paper's protocol)::

    search   iterations [0, S):     α step (policy part) every
                                    policy_interval iterations, then a weight
                                    step (weight part)
    switch   at iteration S:        policy = cell.discretize(); the cell
                                    renders it from now on;
                                    call_hook('after_das_search', policy);
                                    restore the initial weights (all but the
                                    cell), weight optimizer state and weight
                                    schedulers; reseed
    train    iterations [S, S+M):   weight steps on the whole training set
                                    for the whole schedule M = max_iters,
                                    validation every val_interval iterations
                                    of this phase and at its end

``runner.iter`` counts both phases (so logs and checkpoints stay monotonic);
the loop's ``max_iters`` is S + M. With ``retrain=False`` (the earlier warm
start) the weights trained during the search go on training on the weight
part and ``max_iters`` is the total, search included. ``mode='search'`` stops
after the switch's export; ``mode='train'`` trains with ``policy_file`` from
the start (reseeded as at a switch, so that ``mode='search'`` then
``mode='train'`` reproduces ``mode='search_and_train'``).

The loop's state lives in the message hub's runtime info (``das_loop``: the
settings, the phase, the α steps taken; ``das_initial_state``: the initial
weights, optimizer and scheduler states while the search runs), which mmengine
saves in every checkpoint and restores on ``resume``. A resumed run checks
its settings against the checkpoint's: a change is honoured where it can be
(a longer search, another policy interval, a longer or shorter training that
still ends after the checkpoint) and refused with a message naming the old
and the new value where it cannot (see :func:`check_resume`).
"""
import bisect
import copy
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import broadcast, get_world_size
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict
from mmengine.registry import LOOPS
from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop,
                             set_random_seed)
from torch.utils.data import DataLoader

from ..arch_step import Unrolled, arch_step
from ..utils import clip_cell_of, unwrap_model
from .rng import RNG_KEY, preserved_rng, rng_state, set_rng_state

MODES = ('search_and_train', 'search', 'train')
STATE_KEY = 'das_loop'
INITIAL_STATE_KEY = 'das_initial_state'


def forget_key(message_hub, key: str) -> None:
    """Remove a key from a message hub: its scalars, its runtime info and its
    resume flag.

    mmengine 0.10 has no public way to drop the flag (``pop_info`` and the
    ``log_scalars`` dict leave it in ``_resumed_keys``), and a flagged key
    missing from a checkpoint's hub makes each resume from it warn
    ``resumed key: ... is not defined in message_hub``.
    """
    message_hub.log_scalars.pop(key, None)
    message_hub.pop_info(key)
    message_hub._resumed_keys.pop(key, None)


STATE_VERSION = 1
DAS_LOSS = 'train/das_loss'
# per α step, beside das_loss: arch_step's search_diagnostics
DAS_DIAGNOSTICS = ('alpha_entropy', 'identity_pull', 'implicit_ratio')
SEARCH_SCALARS = (DAS_LOSS, ) + tuple(f'train/das_{name}'
                                      for name in DAS_DIAGNOSTICS)
# the settings that decide which samples go where
SPLIT_KEYS = ('policy_portion', 'split_seed', 'policy_dataloader')
UNITS = dict(
    iters=dict(search='search_iters', max='max_iters', at='iteration'),
    epochs=dict(search='search_epochs', max='max_epochs', at='epoch'))


def plain(value):
    """A config value as plain dicts, lists and scalars (comparable, and
    loadable by the safe checkpoint loader)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def set_sampler_epoch(loader: DataLoader, epoch: int) -> None:
    """Tell the loader's sampler which pass this is (its shuffling seed)."""
    sampler = getattr(loader, 'sampler', None)
    if not hasattr(sampler, 'set_epoch'):
        sampler = getattr(
            getattr(loader, 'batch_sampler', None), 'sampler', None)
    if hasattr(sampler, 'set_epoch'):
        sampler.set_epoch(epoch)


class EndlessBatches:
    """The batches of a dataloader without end: when a finite sampler's pass
    ends, the next pass starts (``set_epoch(pass)``).

    Args:
        loader (DataLoader): The dataloader.
        skip (int): Batches to draw and drop first, to replay a stream after
            a resume exactly (the data workers are seeded per worker, so the
            batches and their random augmentations repeat).
    """

    def __init__(self, loader: DataLoader, skip: int = 0) -> None:
        self.loader = loader
        self.passes = 0
        set_sampler_epoch(loader, 0)
        self._iterator = iter(loader)
        for _ in range(skip):
            next(self)

    def __iter__(self) -> 'EndlessBatches':
        return self

    def __next__(self):
        try:
            return next(self._iterator)
        except StopIteration:
            self.passes += 1
            set_sampler_epoch(self.loader, self.passes)
            self._iterator = iter(self.loader)
            return next(self._iterator)


def check_resume(saved: dict, current: dict, position: int,
                 unit: str) -> List[str]:
    """Compare the loop settings of a checkpoint with the configured ones.

    A change is honoured where the run can follow it, and refused where it
    would be silently ignored or would make the run a different one.

    Args:
        saved (dict): The ``das_loop`` state of the checkpoint.
        current (dict): The same for the configured loop, with ``total``: the
            number of iterations (or epochs) the configured run lasts.
        position (int): The checkpoint's iteration (epoch for epoch-based
            loops).
        unit (str): ``'iters'`` or ``'epochs'``.

    Returns:
        list[str]: One note per honoured change, for the log.

    Raises:
        ValueError: A refused change; the message names the setting, its old
            and its new value, and what to do.
    """
    keys = UNITS[unit]
    at = keys['at']

    def refuse(name: str, old, new, why: str):
        raise ValueError(
            f'Resuming at {at} {position}: {name} was {old!r} when the '
            f'checkpoint was written and is {new!r} now; {why}')

    if saved.get('version') != STATE_VERSION:
        raise ValueError(
            f'Resuming at {at} {position}: the checkpoint holds DAS loop '
            f'state version {saved.get("version")!r}, this code reads '
            f'version {STATE_VERSION}')
    if saved['loop'] != current['loop']:
        refuse(
            'train_cfg.type', saved['loop'], current['loop'],
            'an iteration-based and an epoch-based run count their phases '
            'differently; resume with the same loop')
    notes = []
    phase, switch = saved['phase'], saved['switch_point']
    old, new = saved['mode'], current['mode']
    if old != new:
        if 'train' in (old, new):
            refuse(
                'train_cfg.mode', old, new,
                'a run that searches and a run that trains with a fixed '
                'policy file cannot continue each other; start a new run '
                '(load_from) instead')
        if new == 'search' and phase == 'train':
            refuse(
                'train_cfg.mode', old, new,
                f'the search ended at {at} {switch}; nothing is left to '
                'search')
        notes.append(f'train_cfg.mode changed from {old!r} to {new!r}: '
                     'honoured')
    if new == 'train':
        if saved['policy'] != current['policy']:
            refuse(
                'the policy of train_cfg.policy_file', saved['policy'],
                current['policy'],
                'the weights were trained with the old policy; resume with '
                'the same policy file or start a new run')
    else:
        search = keys['search']
        old_length, new_length = saved['search_length'], current[
            'search_length']
        if phase == 'search':
            if new_length < position:
                refuse(
                    f'train_cfg.{search}', old_length, new_length,
                    f'the search has already run to {at} {position}; set '
                    f'{search} >= {position} ({search}={position} ends it '
                    'now)')
            if new_length != old_length:
                notes.append(
                    f'train_cfg.{search} changed from {old_length} to '
                    f'{new_length}: honoured, the search ends at {at} '
                    f'{new_length}')
        elif new_length != switch:
            refuse(
                f'train_cfg.{search}', old_length, new_length,
                f'the search ended at {at} {switch} and the training phase '
                'began there; the phases cannot move now')
        if saved['retrain'] != current['retrain']:
            if phase == 'train':
                refuse(
                    'train_cfg.retrain', saved['retrain'], current['retrain'],
                    'the search is over and the training phase already '
                    'started from the weights retrain chose')
            if current['retrain']:
                refuse(
                    'train_cfg.retrain', saved['retrain'], current['retrain'],
                    'the checkpoint holds no initial weights to restart from '
                    '(they are kept only while a retrain=True search runs)')
            notes.append('train_cfg.retrain changed from True to False: '
                         'honoured, the training phase will go on from the '
                         'searched weights')
        for key in SPLIT_KEYS:
            if saved[key] == current[key]:
                continue
            if phase == 'search' or not current['retrain']:
                refuse(
                    f'train_cfg.{key}', saved[key], current[key],
                    'the split of the training set into the weight part and '
                    'the policy part cannot change while they are in use; '
                    'resume with the old value or start a new run')
            notes.append(
                f'train_cfg.{key} changed from {saved[key]!r} to '
                f'{current[key]!r}: no effect, the split is not used after '
                'the search')
        if saved['policy_interval'] != current['policy_interval']:
            notes.append(
                f'train_cfg.policy_interval changed from '
                f'{saved["policy_interval"]} to {current["policy_interval"]}' +
                (f': honoured from {at} {position} on' if phase ==
                 'search' else ': no effect, the search is over'))
    maximum = keys['max']
    if position > current['total']:
        refuse(
            f'train_cfg.{maximum}', saved['max_length'], current['max_length'],
            f'the run would end at {at} {current["total"]}, before the '
            f'checkpoint\'s {at} {position}')
    if saved['max_length'] != current['max_length']:
        notes.append(
            f'train_cfg.{maximum} changed from {saved["max_length"]} to '
            f'{current["max_length"]}: honoured, the run ends at {at} '
            f'{current["total"]}')
    if saved['param_scheduler'] != current['param_scheduler']:
        refuse(
            'param_scheduler', saved['param_scheduler'],
            current['param_scheduler'],
            'mmengine resumes every scheduler from the checkpoint\'s state, '
            'so the new schedule would be silently ignored; resume with the '
            'checkpoint\'s schedule, or start a new run with load_from')
    return notes


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


class DASLoopMixin:
    """What the iteration- and the epoch-based DAS loops share: settings,
    dataloaders, the α step, the switch, the initial-state snapshot and the
    resume checks. ``unit`` is ``'iters'`` or ``'epochs'``."""

    unit = 'iters'

    # --- construction --------------------------------------------------------

    def _init_unrolled(self, unrolled: Union[bool, dict]) -> None:
        """``train_cfg.unrolled``: False, True or ``dict(xi=..., eps=...)``
        (checked now, before any training)."""
        name = type(self).__name__
        if isinstance(unrolled, bool):
            self.unrolled = {} if unrolled else None
        elif isinstance(unrolled, dict):
            unknown = sorted(set(unrolled) - {'xi', 'eps'})
            if unknown:
                raise ValueError(
                    f'{name}: train_cfg.unrolled takes xi and eps, got '
                    f'{unknown}')
            try:
                Unrolled(None, None, **unrolled)
            except ValueError as e:
                raise ValueError(f'{name}: train_cfg.unrolled: {e}') from None
            self.unrolled = dict(unrolled)
        else:
            raise ValueError(
                f'{name}: train_cfg.unrolled must be True, False or '
                f'dict(xi=..., eps=...), got {unrolled!r}')

    def _init_settings(self, runner, max_length: int,
                       search_length: Optional[int], mode: str,
                       policy_interval: int, retrain: bool,
                       policy_portion: float, split_seed: int,
                       policy_dataloader: Optional[dict],
                       policy_file: Optional[str]) -> None:
        keys = UNITS[self.unit]
        name = type(self).__name__
        if mode not in MODES:
            raise ValueError(f'{name}: train_cfg.mode must be one of {MODES}, '
                             f'but got {mode!r}')
        if not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f'{name}: train_cfg.{keys["max"]} must be an '
                             f'integer >= 1, but got {max_length!r}')
        if mode != 'train':
            if not isinstance(search_length, int) or search_length < 1:
                raise ValueError(
                    f'{name}: train_cfg.{keys["search"]} must be an integer '
                    f'>= 1 in mode {mode!r} (the length of the search), but '
                    f'got {search_length!r}')
            if not retrain and mode == 'search_and_train' and (search_length
                                                               > max_length):
                raise ValueError(
                    f'{name}: with retrain=False, train_cfg.{keys["max"]}='
                    f'{max_length} counts the search too, but the search '
                    f'alone lasts {keys["search"]}={search_length}')
        if not isinstance(policy_interval, int) or policy_interval < 1:
            raise ValueError(
                f'{name}: train_cfg.policy_interval must be an integer >= 1 '
                '(one α step every policy_interval iterations), but got '
                f'{policy_interval!r}')
        if not isinstance(retrain, bool):
            raise ValueError(f'{name}: train_cfg.retrain must be True or '
                             f'False, but got {retrain!r}')
        if not 0.0 < policy_portion < 1.0:
            raise ValueError(f'{name}: train_cfg.policy_portion must be in '
                             f'(0, 1), but got {policy_portion!r}')
        if policy_dataloader is not None and not isinstance(
                policy_dataloader, dict):
            raise ValueError(
                f'{name}: train_cfg.policy_dataloader must be a dict '
                '(overrides of train_dataloader, or a dataloader config with '
                f'its own dataset), but got {policy_dataloader!r}')
        if policy_file is not None and mode != 'train':
            raise ValueError(
                f'{name}: train_cfg.policy_file is only read in mode '
                f'"train", but mode is {mode!r} (policy_file={policy_file!r})')
        self.mode = mode
        self.retrain = retrain
        self.policy_interval = policy_interval
        self.policy_portion = policy_portion
        self.split_seed = split_seed
        self.policy_dataloader_cfg = copy.deepcopy(policy_dataloader)
        self.policy_file = policy_file
        self._search_length = search_length if mode != 'train' else 0
        self._max_length = max_length
        self.phase = 'train' if mode == 'train' else 'search'
        self.alpha_steps = 0
        self.switch_point: Optional[int] = None
        self.policy_dataloader: Optional[DataLoader] = None
        self.weight_dataloader: Optional[DataLoader] = None
        self._policy_stream: Optional[EndlessBatches] = None
        self.cell = clip_cell_of(runner.model, name)

    def _dataloader_cfgs(
        self, dataloader: Union[DataLoader, dict]
    ) -> Tuple[object, Optional[dict], Optional[dict]]:
        """The configs of the train-phase loader, the weight part's and the
        policy part's (None where the train-phase loader serves)."""
        if self.mode == 'train':
            return dataloader, None, None
        if not isinstance(dataloader, dict):
            raise TypeError(
                f'{type(self).__name__} builds the weight and policy parts '
                'of the training set itself: train_dataloader must be a '
                f'config dict, but got a {type(dataloader).__name__}')
        whole = copy.deepcopy(dataloader)
        overrides = copy.deepcopy(self.policy_dataloader_cfg or {})
        policy = copy.deepcopy(whole)
        policy.update(overrides)
        if 'dataset' in overrides:
            # a separate policy set: every training sample trains the
            # weights; the search draws them from a loader of its own, so
            # that the training phase starts its own stream afresh
            weight = copy.deepcopy(whole) if self.retrain else None
        else:
            weight = copy.deepcopy(whole)
            for part, cfg in (('weight', weight), ('policy', policy)):
                cfg['dataset'] = dict(
                    type='DatasetSplit',
                    dataset=copy.deepcopy(whole['dataset']),
                    part=part,
                    policy_portion=self.policy_portion,
                    seed=self.split_seed)
        if self.retrain or weight is None:
            return whole, weight, policy
        # warm start: the weights train on their part throughout
        return weight, None, policy

    def _build_part_loaders(self, runner, weight_cfg: Optional[dict],
                            policy_cfg: Optional[dict]) -> None:
        randomness = runner.cfg.get('randomness') or {}
        build = dict(
            seed=runner.seed,
            diff_rank_seed=randomness.get('diff_rank_seed', False))
        self.weight_dataloader = (
            runner.build_dataloader(weight_cfg, **build)
            if weight_cfg is not None else self.dataloader)
        if policy_cfg is not None:
            self.policy_dataloader = runner.build_dataloader(
                policy_cfg, **build)
        # the loader is dropped after the search; its length stays
        self._weight_epoch_length = len(self.weight_dataloader)
        world = get_world_size()
        parts = [('train_dataloader', self.dataloader)]
        if self.mode != 'train':
            parts += [('weight part', self.weight_dataloader),
                      ('policy part', self.policy_dataloader)]
        for part, loader in parts:
            if len(loader.dataset) < loader.batch_size * world:
                raise ValueError(
                    f'{type(self).__name__}: the {part} holds '
                    f'{len(loader.dataset)} samples, fewer than one batch '
                    f'(batch_size {loader.batch_size} x {world} ranks); use a '
                    'larger training set or another train_cfg.policy_portion '
                    f'(now {self.policy_portion}), or a smaller batch')

    # --- lengths -------------------------------------------------------------

    def _total(self) -> int:
        """Length of the run in this loop's unit (iterations or epochs)."""
        if self.mode == 'train':
            return self._max_length
        if self.mode == 'search':
            return self._search_length
        if self.retrain:
            return self._search_length + self._max_length
        return self._max_length

    def _train_begin(self) -> int:
        """Where the final model's schedule began: the switch with
        ``retrain=True``, else 0."""
        if self.mode != 'train' and self.retrain:
            return self._search_length
        return 0

    def _validates(self) -> bool:
        """Whether this phase trains the final model (and is validated)."""
        if self.mode == 'search':
            return False
        return self.phase == 'train' or not self.retrain

    # --- state ---------------------------------------------------------------

    def _state(self) -> dict:
        """Settings and progress, as plain values (runtime info)."""
        policy = getattr(self.cell, 'policy', None)
        return dict(
            version=STATE_VERSION,
            loop=type(self).__name__,
            mode=self.mode,
            search_length=self._search_length,
            max_length=self._max_length,
            total=self._total(),
            policy_interval=self.policy_interval,
            retrain=self.retrain,
            policy_portion=self.policy_portion,
            split_seed=self.split_seed,
            policy_dataloader=plain(self.policy_dataloader_cfg),
            param_scheduler=plain(self.runner.cfg.get('param_scheduler')),
            policy=None if policy is None else plain(policy.to_dict()),
            phase=self.phase,
            alpha_steps=self.alpha_steps,
            switch_point=self.switch_point)

    def _save_state(self) -> None:
        self.runner.message_hub.update_info(STATE_KEY, self._state())

    def _position(self) -> int:
        return self._iter if self.unit == 'iters' else self._epoch

    def _cell_prefix(self) -> str:
        """The state-dict prefix of the clip cell (a submodule of the
        model)."""
        return next(name + '.' for name, module in unwrap_model(
            self.runner.model).named_modules() if module is self.cell)

    def _snapshot_initial_state(self) -> None:
        """Keep the weights (all but the clip cell), the weight optimizer and
        the weight schedulers as they are before the first iteration."""
        prefix = self._cell_prefix()
        model = {
            key: (value.detach().to('cpu', copy=True)
                  if torch.is_tensor(value) else copy.deepcopy(value))
            for key, value in unwrap_model(
                self.runner.model).state_dict().items()
            if not key.startswith(prefix)
        }
        self.runner.message_hub.update_info(
            INITIAL_STATE_KEY,
            dict(
                model=model,
                optimizer=copy.deepcopy(self._weight_wrapper.state_dict()),
                schedulers=[
                    copy.deepcopy(s.state_dict())
                    for s in self._weight_schedulers
                ]))

    def _check_initial_state(self) -> None:
        """A resumed search that will retrain needs the checkpoint's initial
        state, and that state must fit this run: refuse now, not at the
        switch."""
        name = type(self).__name__
        state = self.runner.message_hub.get_info(INITIAL_STATE_KEY)
        prefix = self._cell_prefix()
        expected = {
            key
            for key in unwrap_model(self.runner.model).state_dict()
            if not key.startswith(prefix)
        }
        found = set() if state is None else set(state['model'])
        schedulers = 0 if state is None else len(state['schedulers'])
        if found != expected or schedulers != len(self._weight_schedulers):
            raise ValueError(
                f'{name}: the checkpoint of this retrain=True search holds ' +
                ('no initial state' if state is
                 None else 'an initial state that does not fit this model and '
                 f'schedule (weights missing: '
                 f'{sorted(expected - found)[:5]}, unexpected: '
                 f'{sorted(found - expected)[:5]}; {schedulers} weight '
                 f'schedulers for {len(self._weight_schedulers)})') +
                f' (message hub key {INITIAL_STATE_KEY!r}) to retrain from '
                'after the search')

    def _restore_initial_state(self) -> None:
        state = self.runner.message_hub.get_info(INITIAL_STATE_KEY)
        # the cell's keys are not in the snapshot: it keeps α and the policy
        unwrap_model(self.runner.model).load_state_dict(
            state['model'], strict=False)
        self._weight_wrapper.load_state_dict(state['optimizer'])
        for scheduler, saved in zip(self._weight_schedulers,
                                    state['schedulers']):
            scheduler.load_state_dict(saved)

    def _check_schedule_ends(self) -> None:
        """Refuse weight schedules that run past the training phase because
        mmengine filled in the loop's total as their ``end``."""
        if self.mode == 'train' or not self.retrain:
            return
        keys = UNITS[self.unit]
        for i, scheduler in enumerate(self._weight_schedulers):
            if getattr(scheduler, 'by_epoch', False):
                if self.unit != 'epochs':
                    continue
                total, length, unit = (self.max_epochs, self._max_length,
                                       'epochs')
            else:
                total, length, unit = (self.max_iters, self._train_iters(),
                                       'iterations')
            if getattr(scheduler, 'end', None) == total != length:
                raise ValueError(
                    f'{type(self).__name__}: param_scheduler.model[{i}] '
                    f'({type(scheduler).__name__}) ends after {total} {unit}'
                    ', search and training together (mmengine\'s default '
                    'end when none is set), but with retrain=True the '
                    'weight schedule restarts after the search and lasts '
                    f'the training phase, {length} {unit}: set its end '
                    f'(train_cfg.{keys["max"]}={self._max_length})')

    # --- running -------------------------------------------------------------

    def _start(self) -> None:
        """Before the first iteration: settle the state (fresh or resumed),
        check the settings, snapshot the initial state, open the streams."""
        runner = self.runner
        name = type(self).__name__
        (self._weight_wrapper, self._policy_wrapper,
         self._weight_schedulers) = split_optim_wrappers(
             runner.optim_wrapper, runner.param_schedulers,
             runner.cfg.get('param_scheduler'), self.mode, name)
        if (self.unrolled is not None and self.mode != 'train'
                and isinstance(self._policy_wrapper, AmpOptimWrapper)):
            raise ValueError(
                f'{name}: train_cfg.unrolled (the second-order α step) does '
                'not run under mixed precision (the policy wrapper is an '
                'AmpOptimWrapper, from --amp): its finite difference needs '
                'full-precision gradients; drop --amp or set '
                'train_cfg.unrolled=False')
        arch = list(self.cell.arch_parameters())
        if any(p.requires_grad for p in arch):
            raise RuntimeError(
                f'{name}: the clip cell\'s architecture parameters require '
                'grad outside its arch_grad() context; the weight steps '
                '(and DDP, which would wait for their gradients) must not '
                'see them')
        if self.mode == 'train':
            self._set_policy_file()
            self.switch_point = 0
        position = self._position()
        saved = runner.message_hub.get_info(STATE_KEY)
        resumed = self._iter > 0 or self._epoch > 0
        if resumed:
            if saved is None:
                raise ValueError(
                    f'{name}: resuming at {UNITS[self.unit]["at"]} '
                    f'{position} from a checkpoint without DAS loop state '
                    f'(message hub key {STATE_KEY!r}); it was written by '
                    'another train loop. Start a new run from it with '
                    'load_from instead of resume')
            for note in check_resume(saved, self._state(), position,
                                     self.unit):
                runner.logger.info(f'{name}: {note}')
            self.phase = saved['phase']
            self.alpha_steps = saved['alpha_steps']
            self.switch_point = saved['switch_point']
            if (self.phase == 'search' and self.retrain
                    and self.mode == 'search_and_train'):
                self._check_initial_state()
            if self.phase == 'train' and getattr(self.cell, 'policy',
                                                 None) is None:
                raise ValueError(
                    f'{name}: the search ended at {UNITS[self.unit]["at"]} '
                    f'{self.switch_point}, but the clip cell of the '
                    'checkpoint holds no policy')
        elif self.mode != 'train':
            if get_world_size() > 1:
                # init_weights may draw α per rank: search from rank 0's
                for param in arch:
                    broadcast(param.data, src=0)
            self._check_schedule_ends()
            if self.retrain:
                self._snapshot_initial_state()
        self._save_state()
        if self.phase == 'search':
            self._log_plan()
            if position < self._search_length:
                # else the switch comes first, and opens its own stream
                self._policy_stream = EndlessBatches(
                    self.policy_dataloader, skip=self.alpha_steps)
                self._open_weight_stream()
        else:
            if not resumed:
                # the training phase of a two-stage run starts where a
                # one-command run's does: from the seed
                set_random_seed(runner.seed)
            self._open_weight_stream()
        if resumed:
            self._restore_rng()

    def _restore_rng(self) -> None:
        """After the streams of a resumed run are open (their replay
        draws): the generators as the checkpoint's iteration left them."""
        runner = self.runner
        name = type(self).__name__
        saved = runner.message_hub.get_info(RNG_KEY)
        if saved is None:
            runner.logger.warning(
                f'{name}: the checkpoint holds no random generator state '
                '(written before das_mmseg saved it): dropout and the other '
                'random draws after the resume differ from the '
                'uninterrupted run\'s')
            return
        set_rng_state(saved)
        randomness = runner.cfg.get('randomness') or {}
        if get_world_size() > 1 and randomness.get('diff_rank_seed'):
            runner.logger.warning(
                f'{name}: randomness.diff_rank_seed=True: the checkpoint '
                'holds rank 0\'s random generators, which every rank '
                'resumes with; the other ranks\' draws differ from the '
                'uninterrupted run\'s')

    def _log_plan(self) -> None:
        self.runner.logger.info(
            f'{type(self).__name__}: search for {self._search_length} '
            f'{self.unit} on {len(self.weight_dataloader.dataset)} samples '
            f'(weights) and {len(self.policy_dataloader.dataset)} (policy, '
            f'one α step every {self.policy_interval} iterations); then ' +
            ('stop' if self.mode ==
             'search' else f'train for {self._max_length} {self.unit} on '
             f'{len(self.dataloader.dataset)} samples' +
             (' from the initial weights' if self.retrain else '')))

    def _set_policy_file(self) -> None:
        """Mode ``'train'``: render the policy of ``policy_file`` (or the
        cell's own, from its config or checkpoint)."""
        name = type(self).__name__
        if self.policy_file is not None:
            try:
                self.cell.set_policy(self.policy_file)
            except ValueError as e:
                raise type(e)(
                    f'{name}: the policy of train_cfg.policy_file='
                    f'{self.policy_file!r} does not fit the model\'s clip '
                    f'cell: {e}') from None
            self.runner.logger.info(
                f'{name}: training with the policy of {self.policy_file}')
        if getattr(self.cell, 'policy', None) is None:
            raise ValueError(
                f'{name}: mode "train" needs a policy: set '
                'train_cfg.policy_file (e.g. the das_policy.json of a search '
                'run), or give the clip cell one')

    def _search_step(self, data_batch) -> None:
        """The α step of this iteration, if one is due; ``das_loss``,
        ``das_alpha_entropy`` and ``das_identity_pull`` (see
        :func:`search_diagnostics`) are in the log only at the iterations
        where they were measured."""
        hub = self.runner.message_hub
        if self.phase == 'search' and self._iter % self.policy_interval == 0:
            diagnostics = {}
            unrolled = None if self.unrolled is None else Unrolled(
                data_batch, self._weight_wrapper, **self.unrolled)
            loss = arch_step(self.runner.model, self._policy_wrapper,
                             next(self._policy_stream), self._iter,
                             diagnostics, unrolled)
            self.alpha_steps += 1
            self._save_state()
            hub.update_scalar(DAS_LOSS, loss)
            for name, value in diagnostics.items():
                hub.update_scalar(f'train/das_{name}', value)
        else:
            self._drop_search_scalars()

    def _drop_search_scalars(self) -> None:
        """The log processor prints every scalar of the hub at every log, the
        latest value if nothing new came: drop the search's keys so that an
        old α step's values are not reported as this iteration's
        (:func:`forget_key`)."""
        for key in SEARCH_SCALARS:
            forget_key(self.runner.message_hub, key)

    def _end_search(self) -> None:
        """Derive the policy, let the hooks export it, and start the training
        phase (restoring the initial state with ``retrain=True``)."""
        runner = self.runner
        name = type(self).__name__
        policy = self.cell.discretize()
        self.cell.set_policy(policy)
        self.phase = 'train'
        self.switch_point = self._position()
        self._drop_search_scalars()
        runner.logger.info(
            f'{name}: search done at {UNITS[self.unit]["at"]} '
            f'{self.switch_point} ({self.alpha_steps} α steps); derived '
            f'policy: {policy.to_dict()}')
        runner.call_hook('after_das_search', policy=policy)
        # the workers of the parts are not needed any more
        self._policy_stream = None
        self.policy_dataloader = None
        if self.mode == 'search':
            self._save_state()
            return
        if self.retrain:
            self.weight_dataloader = None
            self._restore_initial_state()
            runner.logger.info(
                f'{name}: weights, weight optimizer and weight schedules '
                'restored to their initial state; training on the whole '
                f'set ({len(self.dataloader.dataset)} samples) for '
                f'{self._max_length} {self.unit}')
            set_random_seed(runner.seed)
        forget_key(runner.message_hub, INITIAL_STATE_KEY)
        self._save_state()
        self._open_weight_stream()

    def _decide_val_interval(self, done: int) -> None:
        """``dynamic_intervals`` counted in the training phase."""
        step = bisect.bisect(self.dynamic_milestones, done + 1)
        self.val_interval = self.dynamic_intervals[step - 1]

    def _should_validate(self) -> bool:
        if self.runner.val_loop is None or not self._validates():
            return False
        position = self._position()
        done = position - self._train_begin()
        self._decide_val_interval(done)
        return done >= self.val_begin and (done % self.val_interval == 0
                                           or position == self._total())

    def _open_weight_stream(self) -> None:
        """Open the stream of weight batches of the phase (iteration loop;
        an epoch loop passes over its loaders epoch by epoch)."""


@LOOPS.register_module()
class DASIterBasedTrainLoop(DASLoopMixin, IterBasedTrainLoop):
    """Iteration-based DAS loop: search for ``search_iters`` iterations,
    derive the policy, then train for ``max_iters`` iterations.

    See the module docstring for the phases. The config::

        train_cfg = dict(
            type='DASIterBasedTrainLoop',
            max_iters=40000, val_interval=4000,
            mode='search_and_train', search_iters=10000,
            policy_interval=1, retrain=True,
            policy_portion=0.5, split_seed=0,
            policy_dataloader=dict(batch_size=4),
            policy_file=None)

    The two-stage route (``mode='search'``, then ``mode='train'`` with the
    written ``das_policy.json``) trains the same final weights as
    ``mode='search_and_train'`` with the same seed: the training phase starts
    from the same initial weights, optimizer and schedule states, reseeded,
    with a fresh stream of the whole set.

    Args:
        runner (Runner): The runner.
        dataloader (dict): ``train_dataloader``: the whole training set.
        max_iters (int): Iterations of the training phase (with
            ``retrain=False``: of the whole run, search included).
        val_begin (int): First iteration of the training phase validated.
        val_interval (int): Validation interval, in iterations of the
            training phase; the phase's end is always validated.
        dynamic_intervals (list[tuple[int, int]], optional): As mmengine's,
            counted in the training phase.
        mode (str): ``'search_and_train'``, ``'search'`` or ``'train'``.
        search_iters (int, optional): Iterations of the search (required
            unless ``mode='train'``).
        policy_interval (int): One α step every ``policy_interval``
            iterations of the search.
        retrain (bool): Restart from the initial state on the whole set after
            the search (the paper), or go on from the searched weights on
            the weight part.
        policy_portion (float): Fraction of the training set in the policy
            part.
        split_seed (int): Seed of the split.
        policy_dataloader (dict, optional): Overrides of ``train_dataloader``
            for the policy part (e.g. ``dict(batch_size=2)``); with a
            ``dataset`` key, a separate policy set (the training set is then
            not split).
        policy_file (str, optional): The policy JSON to train with in mode
            ``'train'``.
        unrolled (bool | dict): DARTS' second-order α step
            (:class:`das_mmseg.engine.Unrolled`, on this iteration's weight
            batch and the weight optimizer) instead of the first-order one
            (the paper's and the authors'); a dict gives its ``xi`` and
            ``eps``. Logged: ``das_implicit_ratio``.

    Attributes:
        phase (str): ``'search'`` or ``'train'``.
        alpha_steps (int): α steps taken so far.
        dataloader (DataLoader): The training phase's loader (the whole set,
            or the weight part with ``retrain=False``); ``runner.
            train_dataloader``.
        weight_dataloader (DataLoader): The weight part (None after the
            search).
        policy_dataloader (DataLoader): The policy part (None after the
            search).
    """

    unit = 'iters'

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_iters: int,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None,
                 mode: str = 'search_and_train',
                 search_iters: Optional[int] = None,
                 policy_interval: int = 1,
                 retrain: bool = True,
                 policy_portion: float = 0.5,
                 split_seed: int = 0,
                 policy_dataloader: Optional[dict] = None,
                 policy_file: Optional[str] = None,
                 unrolled: Union[bool, dict] = False) -> None:
        self._runner = runner
        self._init_unrolled(unrolled)
        self._init_settings(runner, max_iters, search_iters, mode,
                            policy_interval, retrain, policy_portion,
                            split_seed, policy_dataloader, policy_file)
        train_cfg, weight_cfg, policy_cfg = self._dataloader_cfgs(dataloader)
        super().__init__(runner, train_cfg, max_iters, val_begin, val_interval,
                         dynamic_intervals)
        self._weight_stream = None
        self._build_part_loaders(runner, weight_cfg, policy_cfg)

    @property
    def search_iters(self) -> int:
        """Iterations of the search (0 in mode ``'train'``)."""
        return self._search_length

    @property
    def max_iters(self) -> int:
        """Iterations of the whole run: search and training phase."""
        return self._total()

    def _train_iters(self) -> int:
        return self._max_length

    def _open_weight_stream(self) -> None:
        if (self.phase == 'search'
                and self.weight_dataloader is not self.dataloader):
            # retrain=True: the weight part has a loader of its own
            self._weight_stream = EndlessBatches(
                self.weight_dataloader, skip=self._iter)
            return
        if self._weight_stream is self.dataloader_iterator:
            return  # warm start: the weight part's stream goes on
        # The loop's own loader is drawn from mmengine's iterator, opened
        # when the loop was built: an InfiniteSampler serves one iterator
        # only (a second one would find its index generator closed).
        drawn = self._iter
        if self.phase == 'train' and self.retrain and self.mode != 'train':
            drawn -= self.switch_point
        if drawn:
            print_log(
                f'Advance the dataloader {drawn} steps to skip data that has '
                'already been trained',
                logger='current',
                level=logging.INFO)
        for _ in range(drawn):
            next(self.dataloader_iterator)
        self._weight_stream = self.dataloader_iterator

    def run(self) -> torch.nn.Module:
        """Search, switch and train."""
        self.runner.call_hook('before_train')
        # the whole run is one big epoch, as in IterBasedTrainLoop
        self.runner.call_hook('before_train_epoch')
        self._start()
        while True:
            if self.phase == 'search' and self._iter >= self._search_length:
                self._end_search()
            if self.mode == 'search' and self.phase == 'train':
                break
            if self._iter >= self.max_iters or self.stop_training:
                break
            self.runner.model.train()
            self.run_iter(next(self._weight_stream))
            if self._should_validate():
                with preserved_rng():
                    self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        # stop the data workers now, not at some later garbage collection
        self._policy_stream = self._weight_stream = None
        self.dataloader_iterator = None
        return self.runner.model

    def run_iter(self, data_batch: Sequence[dict]) -> None:
        """One iteration: the α step when due, then the weight step."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=self._iter, data_batch=data_batch)
        self._search_step(data_batch)
        outputs = self.runner.model.train_step(
            data_batch, optim_wrapper=self._weight_wrapper)
        # before the checkpoint hook: the generators as the next iteration
        # finds them
        self.runner.message_hub.update_info(RNG_KEY, rng_state())
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=self._iter,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1


@LOOPS.register_module()
class DASEpochBasedTrainLoop(DASLoopMixin, EpochBasedTrainLoop):
    """Epoch-based DAS loop: search for ``search_epochs`` epochs of the weight
    part, derive the policy, then train for ``max_epochs`` epochs.

    As :class:`DASIterBasedTrainLoop`, in epochs: a search epoch is one pass
    over the weight part (the policy part is drawn from without end, one
    batch per α step); with ``retrain=True`` a training epoch is one pass over
    the whole set, ``max_epochs`` of them after the search, and
    ``runner.epoch`` counts both phases (``max_epochs`` of the loop is
    ``search_epochs + max_epochs``). Each loader's sampler is told its epoch
    counted from the start of its phase, so the training phase shuffles as a
    run that starts with it; validation runs every ``val_interval`` epochs of
    the training phase and at its end.

    What holds for the two-stage route: the training phase of
    ``mode='search_and_train'`` and the run of ``mode='train'`` start from the
    same weights, optimizer and scheduler states, seed and sampler epochs, so
    they train the same final weights as long as the schedules are the same
    objects in both: schedulers converted from epochs to iterations
    (``convert_to_iter_based``) are sized by ``len(runner.train_dataloader)``,
    which is the training phase's loader in both. Log lines during the search
    count the batches of the weight part against the training phase's epoch
    length.

    Args:
        runner (Runner): The runner.
        dataloader (dict): ``train_dataloader``: the whole training set (a
            finite sampler, e.g. ``DefaultSampler``).
        max_epochs (int): Epochs of the training phase (with
            ``retrain=False``: of the whole run, search included).
        val_begin (int): First epoch of the training phase validated.
        val_interval (int): Validation interval in epochs of the training
            phase.
        dynamic_intervals (list[tuple[int, int]], optional): As mmengine's.
        search_epochs (int, optional): Epochs of the search (required unless
            ``mode='train'``).
        mode, policy_interval, retrain, policy_portion, split_seed,
        policy_dataloader, policy_file, unrolled: As for
            :class:`DASIterBasedTrainLoop`.
    """

    unit = 'epochs'

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None,
                 mode: str = 'search_and_train',
                 search_epochs: Optional[int] = None,
                 policy_interval: int = 1,
                 retrain: bool = True,
                 policy_portion: float = 0.5,
                 split_seed: int = 0,
                 policy_dataloader: Optional[dict] = None,
                 policy_file: Optional[str] = None,
                 unrolled: Union[bool, dict] = False) -> None:
        self._runner = runner
        self._init_unrolled(unrolled)
        self._init_settings(runner, max_epochs, search_epochs, mode,
                            policy_interval, retrain, policy_portion,
                            split_seed, policy_dataloader, policy_file)
        train_cfg, weight_cfg, policy_cfg = self._dataloader_cfgs(dataloader)
        super().__init__(runner, train_cfg, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        self._build_part_loaders(runner, weight_cfg, policy_cfg)

    @property
    def search_epochs(self) -> int:
        """Epochs of the search (0 in mode ``'train'``)."""
        return self._search_length

    @property
    def max_epochs(self) -> int:
        """Epochs of the whole run: search and training phase."""
        return self._total()

    @property
    def max_iters(self) -> int:
        """Iterations of the whole run."""
        search = (
            self._search_length *
            self._weight_epoch_length if self.mode != 'train' else 0)
        if self.mode == 'search':
            return search
        if self.mode == 'train' or self.retrain:
            return search + self._train_iters()
        return self._train_iters()

    def _train_iters(self) -> int:
        return self._max_length * len(self.dataloader)

    def run(self) -> torch.nn.Module:
        """Search, switch and train, epoch by epoch."""
        self.runner.call_hook('before_train')
        self._start()
        while True:
            if self.phase == 'search' and self._epoch >= self._search_length:
                self._end_search()
            if self.mode == 'search' and self.phase == 'train':
                break
            if self._epoch >= self.max_epochs or self.stop_training:
                break
            self.run_epoch()
            if self._should_validate():
                with preserved_rng():
                    self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        # stop the data workers now, not at some later garbage collection
        self._policy_stream = None
        return self.runner.model

    def run_epoch(self) -> None:
        """One pass over the weight part (search) or the training phase's
        loader."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        if self.phase == 'search':
            loader, epoch = self.weight_dataloader, self._epoch
        else:
            loader, epoch = self.dataloader, self._epoch - self._train_begin()
        # after DistSamplerSeedHook (which counts the run's epochs): the
        # phase's own epoch, as a run that starts with this phase
        set_sampler_epoch(loader, epoch)
        for idx, data_batch in enumerate(loader):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        """One iteration: the α step when due, then the weight step."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        self._search_step(data_batch)
        outputs = self.runner.model.train_step(
            data_batch, optim_wrapper=self._weight_wrapper)
        # before the checkpoint hook: the generators as the next iteration
        # finds them
        self.runner.message_hub.update_info(RNG_KEY, rng_state())
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1
