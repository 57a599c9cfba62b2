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
settings, the phase, the α steps taken), which mmengine saves in every
checkpoint and restores on ``resume``; the initial weights, optimizer and
scheduler states of a ``retrain=True`` search are written once, to
``<work_dir>/das_initial_state.pth`` (:mod:`.initial_state`). A resumed run
checks its settings against the checkpoint's: a change is honoured where it
can be (a longer search, another policy interval, a longer or shorter training
that still ends after the checkpoint) and refused with a message naming the
old and the new value where it cannot (:func:`.resume_checks.check_resume`).

This module is the phase machine; the settings (:mod:`.loop_settings`), the
resume checks (:mod:`.resume_checks`), the initial state
(:mod:`.initial_state`) and the data streams (:mod:`.data_streams`) have
modules of their own.
"""
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from torch.utils.data import DataLoader

from .data_streams import EndlessBatches, set_sampler_epoch
from .phase_machine import DASPhaseMachine
from .rng import preserved_rng


@LOOPS.register_module()
class DASIterBasedTrainLoop(DASPhaseMachine, IterBasedTrainLoop):
    """Iteration-based DAS loop: search for ``search_iters`` iterations,
    derive the policy, then train for ``max_iters`` iterations.

    See the module docstring for the phases. The config (as a search base's
    ``das_search`` becomes, :func:`das_mmseg.engine.compose_search`; or
    written out so)::

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
                 search_iters: Optional[int] = None,
                 **settings) -> None:
        train_cfg, weight_cfg, policy_cfg = self._init_das(
            runner, dataloader, max_iters, search_iters, **settings)
        super().__init__(runner, train_cfg, max_iters, val_begin, val_interval,
                         dynamic_intervals)
        self._weight_stream = None
        self._build_parts(weight_cfg, policy_cfg)

    @property
    def search_iters(self) -> int:
        """Iterations of the search (0 in mode ``'train'``)."""
        return self.settings.search_length

    @property
    def max_iters(self) -> int:
        """Iterations of the whole run: search and training phase."""
        return self.settings.total

    def _train_iters(self) -> int:
        return self.settings.max_length

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
        if self.phase == 'train' and self.settings.train_begin:
            # retrained from the switch on: its stream starts there
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
            if (self.phase == 'search'
                    and self._iter >= self.settings.search_length):
                self._end_search()
            if self.settings.mode == 'search' and self.phase == 'train':
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
        self._train_step(self._iter, data_batch)


@LOOPS.register_module()
class DASEpochBasedTrainLoop(DASPhaseMachine, EpochBasedTrainLoop):
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
                 search_epochs: Optional[int] = None,
                 **settings) -> None:
        train_cfg, weight_cfg, policy_cfg = self._init_das(
            runner, dataloader, max_epochs, search_epochs, **settings)
        super().__init__(runner, train_cfg, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        self._build_parts(weight_cfg, policy_cfg)

    @property
    def search_epochs(self) -> int:
        """Epochs of the search (0 in mode ``'train'``)."""
        return self.settings.search_length

    @property
    def max_epochs(self) -> int:
        """Epochs of the whole run: search and training phase."""
        return self.settings.total

    @property
    def max_iters(self) -> int:
        """Iterations of the whole run."""
        search = (
            self.settings.search_length *
            self._weight_epoch_length if self.settings.searches else 0)
        if self.settings.mode == 'search':
            return search
        if not self.settings.searches or self.settings.retrain:
            return search + self._train_iters()
        return self._train_iters()

    def _train_iters(self) -> int:
        return self.settings.max_length * len(self.dataloader)

    def run(self) -> torch.nn.Module:
        """Search, switch and train, epoch by epoch."""
        self.runner.call_hook('before_train')
        self._start()
        while True:
            if (self.phase == 'search'
                    and self._epoch >= self.settings.search_length):
                self._end_search()
            if self.settings.mode == 'search' and self.phase == 'train':
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
            loader = self.dataloader
            epoch = self._epoch - self.settings.train_begin
        # after DistSamplerSeedHook (which counts the run's epochs): the
        # phase's own epoch, as a run that starts with this phase
        set_sampler_epoch(loader, epoch)
        for idx, data_batch in enumerate(loader):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        """One iteration: the α step when due, then the weight step."""
        self._train_step(idx, data_batch)
