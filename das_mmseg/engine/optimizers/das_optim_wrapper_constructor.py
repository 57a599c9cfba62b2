"""Two optimizer wrappers for the DAS search: the weights and the policy.

The bilevel search trains two sets of parameters with two optimizers: the
network's weights (SGD, the usual schedule) and the clip cell's architecture
parameters (α, and the magnitudes when they are learned; Adam as in DARTS).
Like mmrazor's DARTS, one constructor builds both into an
``OptimWrapperDict``, so neither optimizer is edited after it is built and
every weight optimizer option of mmengine (``paramwise_cfg``, ``clip_grad``,
AMP wrappers) keeps working.
"""
import copy
from typing import Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                               OPTIMIZERS)

from ..utils import clip_cell_of, parameter_names, unwrap_model

# The paper's (and DARTS') architecture optimizer.
DEFAULT_POLICY_OPTIM_WRAPPER = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3))


class _WeightOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor over every parameter of the model but
    the clip cell's (the policy wrapper owns those)."""

    cell: Optional[nn.Module] = None

    def __call__(self, model: nn.Module):
        model = unwrap_model(model)
        self.cell = clip_cell_of(model, 'DASOptimWrapperConstructor')
        if self.paramwise_cfg:
            # the default recursion, which add_params below keeps out of the
            # cell
            return super().__call__(model)
        # Without paramwise options mmengine passes model.parameters() as one
        # group: the same group, without the cell's parameters.
        cell_params = {id(p) for p in self.cell.parameters()}
        optimizer = OPTIMIZERS.build(
            dict(
                self.optimizer_cfg,
                params=[
                    p for p in model.parameters() if id(p) not in cell_params
                ]))
        wrapper_cfg = copy.deepcopy(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(
            wrapper_cfg, default_args=dict(optimizer=optimizer))

    def add_params(self,
                   params: list,
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        if module is self.cell:
            return
        super().add_params(params, module, prefix, is_dcn_module)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DASOptimWrapperConstructor:
    """Build ``OptimWrapperDict(model=..., policy=...)`` for the DAS search.

    - ``model``: the weights, every parameter of the model but the clip
      cell's, from the usual top-level keys (``type``, ``optimizer``,
      ``paramwise_cfg``, ``clip_grad``, ...) exactly as mmengine's
      ``DefaultOptimWrapperConstructor`` builds them;
    - ``policy``: the cell's ``arch_parameters()`` from ``policy=dict(...)``
      (an optimizer wrapper config; default the paper's Adam, lr 3e-4, betas
      (0.5, 0.999), weight decay 1e-3). Learned magnitudes
      (``cell.magnitude_parameters()``) get their own param group with weight
      decay 0 (decay would pull them toward the middle of their range, not
      toward anything the paper asks for) and learning rate ``magnitude_lr``
      (default: the policy optimizer's).

    Mixed precision: when the weights' wrapper is an ``AmpOptimWrapper``
    (``tools/train.py --amp``) and the policy's is a plain ``OptimWrapper``,
    the policy gets an ``AmpOptimWrapper`` too, with the weights' ``dtype``
    (the α step runs under the same autocast) and a ``GradScaler`` of its own
    (``loss_scale='dynamic'``: the α loss has its own range, and the two
    scales are saved and resumed apart, under
    ``optim_wrapper.policy.loss_scaler`` in the checkpoint). A policy
    wrapper of another type is built as given.

    Example::

        optim_wrapper = dict(
            constructor='DASOptimWrapperConstructor',
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                           weight_decay=5e-4),
            clip_grad=None,
            policy=dict(type='OptimWrapper',
                        optimizer=dict(type='Adam', lr=3e-4,
                                       betas=(0.5, 0.999),
                                       weight_decay=1e-3)),
            magnitude_lr=None)
        param_scheduler = dict(model=[dict(type='PolyLR', ...)], policy=[])

    Args:
        optim_wrapper_cfg (dict): The config above, without ``constructor``
            and ``paramwise_cfg`` (mmengine's builder passes those apart).
        paramwise_cfg (dict, optional): Parameter-wise options of the weight
            optimizer.

    Raises:
        ValueError: ``policy`` is not an optimizer wrapper config with an
            ``optimizer``, or asks for ``paramwise_cfg``/``constructor``.
        TypeError: The model has no clip cell, or the cell has parameters
            outside ``arch_parameters()`` (nobody would train them).
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        weight_cfg = copy.deepcopy(optim_wrapper_cfg)
        policy_cfg = weight_cfg.pop('policy', None)
        self.magnitude_lr = weight_cfg.pop('magnitude_lr', None)
        if policy_cfg is None:
            policy_cfg = copy.deepcopy(DEFAULT_POLICY_OPTIM_WRAPPER)
        if not isinstance(policy_cfg, dict) or 'optimizer' not in policy_cfg:
            raise ValueError(
                'DASOptimWrapperConstructor: optim_wrapper.policy must be an '
                'optimizer wrapper config with an optimizer, e.g. '
                f'{DEFAULT_POLICY_OPTIM_WRAPPER}, but got {policy_cfg!r}')
        unsupported = sorted({'paramwise_cfg', 'constructor'}
                             & set(policy_cfg))
        if unsupported:
            raise ValueError(
                f'DASOptimWrapperConstructor: optim_wrapper.policy does not '
                f'take {unsupported}: its param groups are fixed (α; learned '
                'magnitudes with weight decay 0 and magnitude_lr)')
        if self.magnitude_lr is not None and not self.magnitude_lr > 0:
            raise ValueError('DASOptimWrapperConstructor: '
                             'optim_wrapper.magnitude_lr must be > 0 or None, '
                             f'but got {self.magnitude_lr!r}')
        self.policy_cfg = copy.deepcopy(policy_cfg)
        self.weight_constructor = _WeightOptimWrapperConstructor(
            weight_cfg, paramwise_cfg)

    def _policy_wrapper_cfg(self) -> dict:
        """The policy wrapper's config: as given, or following the weights'
        mixed precision (see the class docstring)."""
        policy_cfg = copy.deepcopy(self.policy_cfg)
        policy_cfg.setdefault('type', 'OptimWrapper')
        weight_cfg = self.weight_constructor.optim_wrapper_cfg
        if (weight_cfg.get('type') == 'AmpOptimWrapper'
                and policy_cfg['type'] == 'OptimWrapper'):
            policy_cfg.update(
                type='AmpOptimWrapper',
                loss_scale='dynamic',
                dtype=weight_cfg.get('dtype'))
        return policy_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap_model(model)
        cell = clip_cell_of(model, 'DASOptimWrapperConstructor')
        arch = list(cell.arch_parameters())
        magnitudes = list(cell.magnitude_parameters())
        arch_ids = {id(p) for p in arch}
        untrained = [p for p in cell.parameters() if id(p) not in arch_ids]
        if untrained:
            raise TypeError(
                'DASOptimWrapperConstructor: the clip cell has parameters '
                'outside arch_parameters(), which neither optimizer would '
                f'train: {parameter_names(model, untrained)}')

        weights = self.weight_constructor(model)

        policy_cfg = self._policy_wrapper_cfg()
        optimizer_cfg = policy_cfg.pop('optimizer')
        magnitude_ids = {id(p) for p in magnitudes}
        groups = [dict(params=[p for p in arch if id(p) not in magnitude_ids])]
        if magnitudes:
            group = dict(params=magnitudes, weight_decay=0.0)
            if self.magnitude_lr is not None:
                group['lr'] = self.magnitude_lr
            groups.append(group)
        policy = OPTIM_WRAPPERS.build(
            policy_cfg,
            default_args=dict(
                optimizer=OPTIMIZERS.build(dict(optimizer_cfg,
                                                params=groups))))
        return OptimWrapperDict(model=weights, policy=policy)
