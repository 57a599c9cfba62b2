"""The differentiable augmentation search (DAS) inside an MMEngine training
run.

First-order bilevel search as in DARTS: the training set is split into a weight
part and a policy part; the runner trains the weights on the weight part while,
every ``interval`` iterations, this hook takes one step of the clip cell's
architecture parameters (α and the learnable magnitudes) on a batch of the
policy part, with the weights fixed. After the search the hook derives the
discrete policy, writes it to ``<work_dir>/das_policy.json`` with pictures of
the search, switches the cell to it, and training goes on with the fixed
policy.

The hook never lets the runner's optimizer or DDP see α: it removes the
architecture parameters from the weight optimizer, hides them from
``DistributedDataParallel`` and keeps ``requires_grad`` off outside its own
step, so the weight step costs what it costs without the hook and needs no
``find_unused_parameters``.
"""
import copy
import io
import logging
import os.path as osp
import weakref
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import pseudo_collate
from mmengine.dist import (all_reduce, broadcast, get_world_size,
                           is_main_process)
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS, OPTIMIZERS, PARAM_SCHEDULERS
from mmengine.runner import EpochBasedTrainLoop
from torch.nn.parallel import DistributedDataParallel

from das_mmseg.augment.policy import Policy, PolicyError
from das_mmseg.datasets.split import DatasetPart, split_indices
from das_mmseg.utils.io import atomic_write

MODES = ('search_and_train', 'search', 'train')
DEFAULT_OPTIMIZER = dict(
    type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
STATE_KEY = 'das_search'


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside a DDP (or other mmengine) wrapper."""
    return model.module if is_model_wrapper(model) else model


def clip_cell_of(model: nn.Module) -> nn.Module:
    """The ``clip_cell`` of a clip segmentor or classifier, or a clear
    error."""
    cell = getattr(model, 'clip_cell', None)
    if cell is None or not hasattr(cell, 'arch_parameters'):
        raise TypeError('DASSearchHook needs a model with a clip cell '
                        '(ClipEncoderDecoder or ClipImageClassifier with '
                        'clip_cell=dict(type="ClipCell", ...)), but '
                        f'{type(model).__name__} has clip_cell={cell!r}')
    return cell


@contextmanager
def frozen_buffers(module: nn.Module) -> Iterator[None]:
    """Restore every buffer (BN running statistics, ``num_batches_tracked``) of
    ``module`` on exit."""
    buffers = list(module.buffers())
    saved = [b.detach().clone() for b in buffers]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, s in zip(buffers, saved):
                b.copy_(s)


@contextmanager
def arch_grad_enabled(params: Sequence[nn.Parameter]) -> Iterator[None]:
    """Turn ``requires_grad`` on for the architecture parameters, and off again
    on exit."""
    for p in params:
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(False)
            p.grad = None


def _first_non_finite(t: torch.Tensor) -> float:
    return t.detach().flatten()[~torch.isfinite(t.detach().flatten())][0].item(
    )


def arch_step(model: nn.Module,
              params: Sequence[nn.Parameter],
              optimizer: torch.optim.Optimizer,
              data_batch: Union[dict, tuple, list],
              iteration: int,
              names: Optional[Sequence[str]] = None) -> float:
    """One first-order step of the architecture parameters on a batch, the
    weights fixed.

    The loss of ``data_batch`` is differentiated with respect to ``params``
    only (``torch.autograd.grad``): no weight gets a ``.grad``, and the buffers
    (BN running statistics) are restored after the forward. Under a distributed
    run the gradients and the loss are averaged over the ranks in one
    all-reduce, so every rank takes the same step.

    Args:
        model (nn.Module): The unwrapped model (a ``BaseModel`` with a data
            preprocessor), in train mode.
        params (Sequence[nn.Parameter]): The architecture parameters
            (``ClipCell.arch_parameters()``).
        optimizer (torch.optim.Optimizer): Optimizer over ``params`` only.
        data_batch (dict | tuple | list): A batch from a dataloader, as given
            to ``train_step``.
        iteration (int): The runner's iteration, for error messages.
        names (Sequence[str], optional): Names of ``params``, for error
            messages.

    Returns:
        float: The search loss (averaged over ranks).

    Raises:
        FloatingPointError: The loss, a gradient or an updated parameter is not
            finite.
    """
    names = list(names) if names is not None else [
        f'arch_param_{i}' for i in range(len(params))
    ]
    with arch_grad_enabled(params), frozen_buffers(model):
        data = model.data_preprocessor(data_batch, True)
        losses = model(
            **data, mode='loss') if isinstance(data, dict) else model(
                *data, mode='loss')
        loss, _ = model.parse_losses(losses)
        grads = torch.autograd.grad(loss, list(params), allow_unused=True)
        grads = [
            torch.zeros_like(p) if g is None else g
            for p, g in zip(params, grads)
        ]
        flat = torch.cat([g.flatten()
                          for g in grads] + [loss.detach().reshape(1)])
        if get_world_size() > 1:
            all_reduce(flat, op='mean')
        search_loss = flat[-1].item()
        if not np.isfinite(search_loss):
            raise FloatingPointError(
                f'DASSearchHook: the search loss is {search_loss} at '
                f'iteration {iteration}; '
                f'the policy parameters cannot be updated')
        offset = 0
        for p, name in zip(params, names):
            g = flat[offset:offset + p.numel()].view_as(p)
            offset += p.numel()
            if not torch.isfinite(g).all():
                raise FloatingPointError(
                    f'DASSearchHook: the gradient of {name} holds '
                    f'{_first_non_finite(g)} at iteration {iteration}')
            p.grad = g
        optimizer.step()
    for p, name in zip(params, names):
        if not torch.isfinite(p).all():
            raise FloatingPointError(
                f'DASSearchHook: {name} holds {_first_non_finite(p)} after '
                f'the step at iteration {iteration} (search loss '
                f'{search_loss:.4g}); lower the search learning rate')
    return search_loss


class _EndlessLoader:
    """Iterates a dataloader forever, advancing the sampler's epoch at each
    pass; counts the batches it served."""

    def __init__(self, loader, skip: int = 0) -> None:
        self.loader = loader
        self.epoch = 0
        self.served = 0
        self._iterator = iter(loader)
        for _ in range(skip):
            next(self)

    def __next__(self):
        try:
            batch = next(self._iterator)
        except StopIteration:
            self.epoch += 1
            sampler = getattr(self.loader, 'sampler', None)
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(self.epoch)
            self._iterator = iter(self.loader)
            batch = next(self._iterator)
        self.served += 1
        return batch


@HOOKS.register_module()
class DASSearchHook(Hook):
    """Differentiable augmentation search of the clip cell's policy, then
    training with the derived policy.

    Three modes, one command each:

    - ``'search_and_train'``: search for ``search_iters`` iterations (or
      ``search_epochs`` epochs), derive the discrete policy, write
      ``<work_dir>/das_policy.json``, ``das_alpha.png`` (softmax(α) over the
      search, one heatmap per edge) and ``das_clip.png`` (the clip the policy
      makes of a training image), then keep training (on the weight part) with
      the fixed policy until the end of the run, and evaluate as configured.
    - ``'search'``: the same, stopping the run after the files are written.
    - ``'train'``: no search; the cell takes the policy of ``policy_file``
      (the same JSON) and the whole training set trains the weights.

    Checkpoints carry the search state (the α optimizer and schedule, the
    split, the phase, the number of α steps and α's history; α and the
    magnitudes are model parameters), so ``--resume`` continues the search
    exactly.

    Args:
        search_iters (int, optional): Iterations of the search phase.
        search_epochs (int, optional): Epochs of the search phase
            (epoch-based loops), instead of ``search_iters``. In ``'search'``
            mode, if neither is given, the search lasts the whole run.
        mode (str): ``'search_and_train'``, ``'search'`` or ``'train'``.
        interval (int): One α step every ``interval`` training iterations
            (>= 1).
        policy_portion (float): Fraction of the training set held out for the α
            steps.
        split_seed (int): Seed of the split, the same on every rank.
        search_dataloader (dict, optional): With a ``dataset`` key, a separate
            dataloader for the α steps (the training set is then not split);
            otherwise keys overriding ``train_dataloader`` for the policy part
            (e.g. ``dict(batch_size=2)``).
        optimizer (dict, optional): Optimizer of the architecture parameters;
            default Adam, lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.
        param_scheduler (dict | list[dict], optional): mmengine parameter
            schedulers of that optimizer, counted in α steps
            (``by_epoch=False``).
        policy_file (str, optional): The policy JSON to train with, in
            ``'train'`` mode.
        log_interval (int): α is recorded (for ``das_alpha.png``) and sent to
            the visualizer backends every ``log_interval`` α steps.
        policy_filename (str): Name of the policy file written in the work dir.
    """

    # before CheckpointHook, so a checkpoint at the switch holds the derived
    # policy
    priority = 'NORMAL'

    def __init__(self,
                 search_iters: Optional[int] = None,
                 search_epochs: Optional[int] = None,
                 mode: str = 'search_and_train',
                 interval: int = 1,
                 policy_portion: float = 0.5,
                 split_seed: int = 0,
                 search_dataloader: Optional[dict] = None,
                 optimizer: Optional[dict] = None,
                 param_scheduler: Union[dict, List[dict], None] = None,
                 policy_file: Optional[str] = None,
                 log_interval: int = 10,
                 policy_filename: str = 'das_policy.json') -> None:
        if mode not in MODES:
            raise ValueError(
                f'DASSearchHook: mode must be one of {MODES}, but got {mode!r}'
            )
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                'DASSearchHook: interval must be an integer >= 1 (one α '
                f'step every `interval` iterations), but got {interval!r}')
        if not isinstance(log_interval, int) or log_interval < 1:
            raise ValueError(
                'DASSearchHook: log_interval must be an integer >= 1, but '
                f'got {log_interval!r}')
        if (mode == 'train') != (policy_file is not None):
            raise ValueError(
                'DASSearchHook: policy_file is required in mode "train" and '
                'only there, but got '
                f'mode={mode!r}, policy_file={policy_file!r}')
        if search_iters is not None and search_epochs is not None:
            raise ValueError(
                'DASSearchHook: give search_iters or search_epochs, not '
                f'both (got {search_iters} and {search_epochs})')
        if (mode == 'search_and_train' and search_iters is None
                and search_epochs is None):
            raise ValueError(
                'DASSearchHook: mode "search_and_train" needs search_iters or '
                'search_epochs: the length of the search before training with '
                'the derived policy')
        lengths = dict(search_iters=search_iters, search_epochs=search_epochs)
        for key, value in lengths.items():
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(
                    f'DASSearchHook: {key} must be an integer >= 1, but got '
                    f'{value!r}')
        self.search_iters = search_iters
        self.search_epochs = search_epochs
        self.mode = mode
        self.interval = interval
        self.policy_portion = policy_portion
        self.split_seed = split_seed
        self.search_dataloader = copy.deepcopy(search_dataloader) or {}
        self.optimizer_cfg = copy.deepcopy(
            optimizer) if optimizer is not None else dict(DEFAULT_OPTIMIZER)
        if isinstance(param_scheduler, dict):
            param_scheduler = [param_scheduler]
        self.param_scheduler_cfg = copy.deepcopy(param_scheduler) or []
        self.policy_file = policy_file
        self.log_interval = log_interval
        self.policy_filename = policy_filename

        self.phase = 'train' if mode == 'train' else 'search'
        self.alpha_steps = 0
        self.policy = None
        self.weight_indices: Optional[List[int]] = None
        self.policy_indices: Optional[List[int]] = None
        self.history_steps: List[int] = []
        self.history_weights: List[torch.Tensor] = []
        self._loaded: Optional[dict] = None
        self._policy_loader = None
        self._policy_stream: Optional[_EndlessLoader] = None

    # ------------------------------------------------------------------ setup

    def before_run(self, runner) -> None:
        model = unwrap_model(runner.model)
        self.cell = clip_cell_of(model)
        self.arch_params = list(self.cell.arch_parameters())
        if not self.arch_params:
            raise ValueError(
                f'DASSearchHook: {type(self.cell).__name__}.arch_parameters() '
                'is empty; there is '
                f'nothing to search')
        param_names = {id(p): n for n, p in model.named_parameters()}
        self.arch_names = [
            param_names.get(id(p), f'clip_cell.arch_param_{i}')
            for i, p in enumerate(self.arch_params)
        ]
        for p in self.arch_params:
            p.requires_grad_(False)  # on only inside the α step
        self._remove_from_weight_optimizer(runner)
        self._hide_from_ddp(runner)

        if self.mode == 'train':
            policy = self._checked_policy(self.policy_file, self.policy_file)
            self.cell.set_policy(policy)
            self.policy = policy
            runner.logger.info('DASSearchHook: training with the policy of '
                               f'{self.policy_file}')
            return
        if (self.search_iters is not None
                and self.search_iters > runner.max_iters):
            raise ValueError(
                f'DASSearchHook: search_iters={self.search_iters} exceeds '
                f'the run\'s max_iters={runner.max_iters}')
        if (self.search_epochs is not None
                and self.search_epochs > runner.max_epochs):
            raise ValueError(
                f'DASSearchHook: search_epochs={self.search_epochs} exceeds '
                f'the run\'s max_epochs={runner.max_epochs}')
        self._full_dataset = runner.train_loop.dataloader.dataset
        self._setup_data(runner)
        self.optimizer = OPTIMIZERS.build(
            dict(self.optimizer_cfg, params=self.arch_params))
        self.schedulers = [
            PARAM_SCHEDULERS.build(dict(cfg, optimizer=self.optimizer))
            for cfg in copy.deepcopy(self.param_scheduler_cfg)
        ]

    def _remove_from_weight_optimizer(self, runner) -> None:
        """Take the architecture parameters out of every param group of the
        runner's optimizer(s).

        Groups are kept (possibly empty), so the weight schedulers' per-group
        values stay aligned.
        """
        arch = {id(p) for p in self.arch_params}
        wrapper = runner.optim_wrapper
        optimizers = ([w.optimizer for w in wrapper.values()] if hasattr(
            wrapper, 'optim_wrappers') else [wrapper.optimizer])
        removed = 0
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                kept = [p for p in group['params'] if id(p) not in arch]
                removed += len(group['params']) - len(kept)
                group['params'] = kept
        if removed:
            runner.logger.info(
                f'DASSearchHook: removed {removed} architecture parameters '
                f'({", ".join(self.arch_names)}) from the weight optimizer')

    def _hide_from_ddp(self, runner) -> None:
        """Rebuild the DDP wrapper with the architecture parameters ignored, if
        it tracks them.

        DDP would otherwise expect their gradients in every weight step (an
        error in the discrete phase, where α is unused, without
        ``find_unused_parameters=True``). Their gradients are averaged by
        :func:`arch_step`.
        """
        ddp = runner.model
        if not isinstance(ddp, DistributedDataParallel):
            return
        if set(self.arch_names) <= set(ddp.parameters_to_ignore):
            return
        module = ddp.module
        ignored = sorted(set(ddp.parameters_to_ignore) | set(self.arch_names))
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
            module, ignored)
        old = weakref.ref(ddp)
        del ddp
        # drop the old wrapper (and the autograd hooks of its reducer) before
        # wrapping again
        runner.model = None
        runner.model = runner.wrap_model(
            copy.deepcopy(runner.cfg.get('model_wrapper_cfg')), module)
        if old() is not None:
            import gc
            gc.collect()
        if old() is not None:
            raise RuntimeError(
                'DASSearchHook: the previous DDP wrapper is still '
                'referenced; its gradient hooks would all-reduce twice')
        runner.logger.info(
            f'DASSearchHook: DDP rebuilt with {", ".join(self.arch_names)} '
            'ignored')

    def _setup_data(self,
                    runner,
                    weight_indices: Optional[List[int]] = None,
                    policy_indices: Optional[List[int]] = None) -> None:
        """Build the policy dataloader and give the training loop the weight
        part (or a separate search loader)."""
        train_cfg = copy.deepcopy(runner.cfg.get('train_dataloader'))
        # a separate search set: the training set stays whole
        if 'dataset' in self.search_dataloader:
            self._policy_loader = runner.build_dataloader(
                copy.deepcopy(self.search_dataloader), seed=runner.seed)
        else:
            full = self._full_dataset
            if type(full).__name__ in ('RepeatDataset',
                                       'ClassBalancedDataset'):
                raise TypeError(
                    f'DASSearchHook cannot split a {type(full).__name__} (the '
                    'same image would land in both parts); wrap the split '
                    'parts instead, or give search_dataloader a dataset')
            if weight_indices is None:
                weight_indices, policy_indices = split_indices(
                    len(full), self.policy_portion, self.split_seed)
            self.weight_indices, self.policy_indices = list(
                weight_indices), list(policy_indices)
            policy_cfg = copy.deepcopy(train_cfg)
            policy_cfg.update(copy.deepcopy(self.search_dataloader))
            policy_cfg['dataset'] = DatasetPart(full, self.policy_indices)
            train_cfg['dataset'] = DatasetPart(full, self.weight_indices)
            self._policy_loader = runner.build_dataloader(
                policy_cfg, seed=runner.seed)
            self._install_train_dataloader(
                runner, runner.build_dataloader(train_cfg, seed=runner.seed))
        world = get_world_size()
        for part, loader in (('policy', self._policy_loader),
                             ('weight', runner.train_loop.dataloader)):
            if len(loader.dataset) < loader.batch_size * world:
                raise ValueError(
                    f'DASSearchHook: the {part} part holds '
                    f'{len(loader.dataset)} samples, fewer than one batch '
                    f'(batch_size {loader.batch_size} x {world} ranks); use a '
                    'larger training set or policy_portion (now '
                    f'{self.policy_portion}), or a smaller batch')
        self._policy_stream = None
        runner.logger.info(
            f'DASSearchHook: {len(runner.train_loop.dataloader.dataset)} '
            'samples train the weights, '
            f'{len(self._policy_loader.dataset)} the policy')

    @staticmethod
    def _install_train_dataloader(runner, loader) -> None:
        loop = runner.train_loop
        replaced = loop.dataloader
        loop.dataloader = loader
        # persistent workers of the whole set: stop them now
        if getattr(replaced, '_iterator', None) is not None:
            replaced._iterator._shutdown_workers()
            replaced._iterator = None
        if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop
            loop.dataloader_iterator = type(loop.dataloader_iterator)(loader)
        if isinstance(loop, EpochBasedTrainLoop):
            loop._max_iters = loop.max_epochs * len(loader)
            DASSearchHook._rebuild_weight_schedulers(runner)

    @staticmethod
    def _rebuild_weight_schedulers(runner) -> None:
        """Epoch-based schedules converted to iterations were sized by the
        whole set; rebuild them for the part."""
        cfg = runner.cfg.get('param_scheduler')
        if cfg is None:
            return
        wrapper = runner.optim_wrapper
        optimizers = ([w.optimizer for w in wrapper.values()] if hasattr(
            wrapper, 'optim_wrappers') else [wrapper.optimizer])
        for optimizer in optimizers:
            # undo the first step the old schedulers took at construction
            for group in optimizer.param_groups:
                for key in [k for k in group if k.startswith('initial_')]:
                    group[key[len('initial_'):]] = group[key]
        runner.param_schedulers = runner.build_param_scheduler(
            copy.deepcopy(cfg))

    def _checked_policy(self, policy: Union[Policy, dict, str],
                        source: str) -> Policy:
        """The policy, if it was made for the cell's op set and clip, else a
        clear error naming ``source``."""
        try:
            policy = Policy.coerce(policy)
            policy.check_compatible(self.cell.op_names, self.cell.num_frames,
                                    self.cell.ref_frame)
        except PolicyError as e:
            raise PolicyError(
                f'DASSearchHook: the policy {source} does not fit the '
                f'model\'s clip cell: {e}') from None
        return policy

    # ------------------------------------------------------------------ search

    def before_train(self, runner) -> None:
        if self._loaded is not None:
            meta_iter, meta_epoch, state = self._loaded
            self._loaded = None
            if state is not None and (meta_iter, meta_epoch) == (runner.iter,
                                                                 runner.epoch):
                self._restore(runner, state)
        if get_world_size() > 1:
            # init_weights may draw α per rank; the search starts from rank 0's
            for p in self.arch_params:
                broadcast(p.data, src=0)
        if self.phase == 'search' and self._search_done(
                runner.iter, runner.epoch):
            self._finish_search(runner, runner.iter)
        if self.mode == 'search' and self.phase == 'train':
            runner.train_loop.stop_training = True

    def _search_done(self, iters: int, epochs: int) -> bool:
        if self.search_iters is not None:
            return iters >= self.search_iters
        if self.search_epochs is not None:
            return epochs >= self.search_epochs
        return False

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        if self.phase != 'search' or runner.iter % self.interval:
            return
        # lazily, after a resume has restored how many batches were used
        if self._policy_stream is None:
            self._policy_stream = _EndlessLoader(
                self._policy_loader, skip=self.alpha_steps)
        model = unwrap_model(runner.model)
        loss = arch_step(model, self.arch_params, self.optimizer,
                         next(self._policy_stream), runner.iter,
                         self.arch_names)
        self.alpha_steps += 1
        for scheduler in self.schedulers:
            scheduler.step()
        runner.message_hub.update_scalar('train/das_loss', loss)
        if self.alpha_steps == 1 or self.alpha_steps % self.log_interval == 0:
            self._record_alpha(runner)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if (self.phase == 'search' and self.search_iters is not None
                and runner.iter + 1 >= self.search_iters):
            self._finish_search(runner, runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        if (self.phase == 'search' and self.search_epochs is not None
                and runner.epoch + 1 >= self.search_epochs):
            self._finish_search(runner, runner.iter + 1)

    def after_run(self, runner) -> None:
        # stop the policy loader's workers now rather than at a later garbage
        # collection
        self._policy_stream = None

    def _alpha_weights(self) -> torch.Tensor:
        """softmax(α / temperature) per edge, ``(num_edges, num_ops)``."""
        return self.cell.op_weights().detach().float().cpu()

    def _record_alpha(self, runner) -> None:
        """Keep softmax(α) after the latest α step for the picture, and send it
        to the visualizer backends."""
        weights = self._alpha_weights()
        self.history_steps.append(self.alpha_steps)
        self.history_weights.append(weights)
        ops = self._op_names()
        runner.visualizer.add_scalars(
            {
                f'das/alpha/edge{e}/{op}': weights[e, o].item()
                for e in range(weights.shape[0])
                for o, op in enumerate(ops)
            },
            step=runner.iter)

    def _op_names(self) -> List[str]:
        return list(self.cell.op_names)

    def _finish_search(self, runner, done_iters: int) -> None:
        """Derive the policy, write the files (rank 0), switch the cell, and
        stop the run in search-only mode."""
        if self.alpha_steps and (not self.history_steps or
                                 self.history_steps[-1] != self.alpha_steps):
            self._record_alpha(runner)
        policy = self.cell.discretize()
        self.cell.set_policy(policy)
        self.policy = policy
        self.phase = 'train'
        if is_main_process():
            path = osp.join(runner.work_dir, self.policy_filename)
            policy.save(path)
            pictures = [osp.join(runner.work_dir, 'das_clip.png')]
            if self.history_weights:
                pictures.insert(0, osp.join(runner.work_dir, 'das_alpha.png'))
                self._write_alpha_png(runner, pictures[0])
            self._write_clip_png(runner, pictures[-1])
            runner.logger.info(
                f'DASSearchHook: search done after {done_iters} iterations '
                f'({self.alpha_steps} α steps); derived policy written to '
                f'{path}: {policy.to_dict()}; pictures: {", ".join(pictures)}')
        if self.mode == 'search':
            runner.train_loop.stop_training = True

    def _write_alpha_png(self, runner, path: str) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        weights = torch.stack(self.history_weights).numpy()  # (K, E, O)
        num_edges, ops = weights.shape[1], self._op_names()
        cols = min(num_edges, 4)
        rows = (num_edges + cols - 1) // cols
        fig = Figure(
            figsize=(3.2 * cols, 0.3 * len(ops) * rows + 1.2 * rows),
            layout='constrained')
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows, cols, squeeze=False)
        # early in a search all weights sit near 1/num_ops
        low, high = float(weights.min()), float(weights.max())
        # α steps are recorded at uneven spacing
        steps = np.asarray(self.history_steps, dtype=float)
        x_edges = np.concatenate([[steps[0] - 0.5],
                                  (steps[1:] + steps[:-1]) / 2,
                                  [steps[-1] + 0.5]])
        y_edges = np.arange(len(ops) + 1) - 0.5
        for e, ax in enumerate(axes.flat):
            if e >= num_edges:
                ax.set_axis_off()
                continue
            image = ax.pcolormesh(
                x_edges,
                y_edges,
                weights[:, e, :].T,
                vmin=low,
                vmax=max(high, low + 1e-6),
                cmap='viridis')
            ax.invert_yaxis()
            ax.set_title(f'edge {e}', fontsize=8)
            ax.set_yticks(
                range(len(ops)),
                ops if e % cols == 0 else [''] * len(ops),
                fontsize=7)
            ax.tick_params(axis='x', labelsize=7)
            ax.set_xlabel('α step', fontsize=7)
        fig.colorbar(
            image,
            ax=axes.ravel().tolist(),
            shrink=0.6,
            label='softmax(α) (colour range: min to max)')
        fig.suptitle('DAS search: softmax(α) per edge')
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png', dpi=90)
        atomic_write(path, buffer.getvalue())
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        runner.visualizer.add_image(
            'das_alpha', np.ascontiguousarray(rgb), step=runner.iter)

    def _write_clip_png(self, runner, path: str) -> None:
        """The derived policy's clip of a training image, frames left to right
        (reference frame framed white)."""
        import cv2

        model = unwrap_model(runner.model)
        dataset = runner.train_loop.dataloader.dataset
        data = model.data_preprocessor(pseudo_collate([dataset[0]]), False)
        inputs = data['inputs'] if isinstance(data, dict) else data[0]
        with torch.no_grad():
            # (T, C, H, W), normalised
            clip = self.cell(inputs[:1].float())[0].cpu()
        pre = model.data_preprocessor
        mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
        if mean is not None and std is not None and getattr(
                pre, '_enable_normalize', True):
            frames = clip * std.cpu() + mean.cpu()
        else:
            span = (clip.max() - clip.min()).clamp_min(1e-12)
            frames = (clip - clip.min()) / span * 255
        frames = frames.clamp(0, 255).round().byte()
        frames = frames.permute(0, 2, 3, 1).numpy()  # (T, H, W, C)
        # bgr_to_rgb ran: the frames are RGB
        rgb = bool(getattr(pre, '_channel_conversion', False))
        frames = frames[..., ::-1] if rgb else frames
        ref = getattr(self.cell, 'ref_frame', None)
        tiles = []
        for t, frame in enumerate(frames):
            tile = cv2.copyMakeBorder(
                np.ascontiguousarray(frame),
                3,
                3,
                3,
                3,
                cv2.BORDER_CONSTANT,
                value=(255, 255, 255) if t == ref else (0, 0, 0))
            tiles.append(tile)
        montage = np.concatenate(tiles, axis=1)
        ok, encoded = cv2.imencode('.png', montage)
        if not ok:
            raise RuntimeError(f'DASSearchHook: could not encode {path}')
        atomic_write(path, encoded.tobytes())
        runner.visualizer.add_image(
            'das_clip',
            np.ascontiguousarray(montage[..., ::-1]),
            step=runner.iter)

    # --- checkpoints ---------------------------------------------------------

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state: Dict[str, object] = dict(
            phase=self.phase,
            mode=self.mode,
            alpha_steps=self.alpha_steps,
            policy=self.policy.to_dict() if self.policy is not None else None)
        if self.mode != 'train':
            state.update(
                optimizer=self.optimizer.state_dict(),
                param_schedulers=[s.state_dict() for s in self.schedulers],
                weight_indices=torch.tensor(self.weight_indices)
                if self.weight_indices is not None else None,
                policy_indices=torch.tensor(self.policy_indices)
                if self.policy_indices is not None else None,
                history_steps=torch.tensor(
                    self.history_steps, dtype=torch.long),
                history_weights=(torch.stack(self.history_weights)
                                 if self.history_weights else None))
        checkpoint[STATE_KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Called before the weights are loaded and for `load_from` too: applied
        # in before_train, on a resume only.
        meta = checkpoint.get('meta', {})
        self._loaded = (meta.get('iter'), meta.get('epoch'),
                        checkpoint.get(STATE_KEY))

    def _restore(self, runner, state: dict) -> None:
        if self.mode == 'train' or state.get('mode') == 'train':
            # the policy comes from policy_file; nothing else to restore
            return
        self.alpha_steps = int(state['alpha_steps'])
        self.optimizer.load_state_dict(state['optimizer'])
        for scheduler, saved in zip(self.schedulers,
                                    state['param_schedulers']):
            scheduler.load_state_dict(saved)
        self.history_steps = [int(i) for i in state['history_steps']]
        weights = state['history_weights']
        self.history_weights = list(
            weights.float()) if weights is not None else []
        if state['weight_indices'] is not None:
            weight, policy = state['weight_indices'].tolist(
            ), state['policy_indices'].tolist()
            if (weight, policy) != (self.weight_indices, self.policy_indices):
                print_log(
                    'DASSearchHook: the checkpoint\'s split differs from the '
                    'configured one (another split_seed or policy_portion); '
                    'continuing with the checkpoint\'s split',
                    logger='current',
                    level=logging.WARNING)
                self._setup_data(runner, weight, policy)
        self.phase = state['phase']
        if self.phase == 'train':
            self.policy = self._checked_policy(state['policy'],
                                               'in the checkpoint')
            self.cell.set_policy(self.policy)
        runner.logger.info(
            f'DASSearchHook: resumed in phase "{self.phase}" after '
            f'{self.alpha_steps} α steps')
