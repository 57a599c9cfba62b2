"""One step of the clip cell's architecture parameters (α and, when learned,
the magnitudes) on a batch, the weights fixed: the upper level of the DAS
bilevel search. First-order DARTS by default (the paper's and the authors'
only step); :class:`Unrolled` gives DARTS' second-order step."""
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from .utils import clip_cell_of, parameter_names, unwrap_model


@contextmanager
def frozen_buffers(module: nn.Module) -> Iterator[None]:
    """Restore every buffer of ``module`` (BN running statistics,
    ``num_batches_tracked``) on exit."""
    buffers = list(module.buffers())
    saved = [b.detach().clone() for b in buffers]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in zip(buffers, saved):
                buffer.copy_(value)


def batch_loss(model: nn.Module, data_batch) -> torch.Tensor:
    """The training loss of ``data_batch`` (a 0-dim tensor with its graph):
    the data preprocessor, ``mode='loss'`` and ``parse_losses``, as
    ``train_step`` computes it."""
    data = model.data_preprocessor(data_batch, True)
    losses = (
        model(**data, mode='loss') if isinstance(data, dict) else model(
            *data, mode='loss'))
    loss, _ = model.parse_losses(losses)
    return loss


def _grads(loss: torch.Tensor,
           params: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """d loss / d params, zeros where a parameter is not used."""
    grads = torch.autograd.grad(loss, list(params), allow_unused=True)
    return [
        torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)
    ]


def _mean_over_ranks(tensors: List[torch.Tensor]) -> List[torch.Tensor]:
    """The tensors averaged over the ranks, in one all-reduce."""
    if get_world_size() == 1:
        return tensors
    flat = torch.cat([t.flatten() for t in tensors])
    all_reduce(flat, op='mean')
    out, offset = [], 0
    for t in tensors:
        out.append(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()
    return out


@dataclass
class Unrolled:
    """DARTS' second-order α step (Liu et al., ICLR 2019, eq. 7-8): the
    gradient of the search loss at the weights after one virtual weight step,
    ``w' = w - ξ (μ m + ∇_w L_train(w, α) + λ w)`` (the weight optimizer's
    momentum buffer ``m`` and coefficient ``μ`` (SGD; 0 otherwise) and weight
    decay ``λ``, per parameter group), so that α sees how the weights would
    follow it::

        dα = ∇_α L_val(w', α)
             - ∇²_{α,w} L_train(w, α) · (ξ ⊙ ∇_w' L_val(w', α))

    the second term by the central finite difference of DARTS,
    ``(∇_α L_train(w + r v, α) - ∇_α L_train(w - r v, α)) / 2r`` with
    ``v = ξ ⊙ ∇_w' L_val`` and ``r = eps / ‖v‖``. The weights, their
    gradients, the optimizer state and the buffers (BN statistics) are left
    as they were. The weights' gradient clipping is not applied to the
    virtual step (as DARTS).

    Args:
        weight_batch: The batch of the weight step of this iteration (the
            training loss ``L_train``).
        weight_wrapper (OptimWrapper): The weight optimizer wrapper (its
            parameter groups, lr, momentum buffers and weight decay).
        xi (float, optional): ξ; None: each group's current lr (DARTS). 0
            gives the first-order step.
        eps (float): The finite difference's step, relative to ‖v‖ (DARTS:
            0.01).
    """
    weight_batch: object
    weight_wrapper: OptimWrapper
    xi: Optional[float] = None
    eps: float = 0.01

    def __post_init__(self) -> None:
        if self.xi is not None and (not isinstance(self.xi, (int, float))
                                    or not self.xi >= 0):
            raise ValueError(f'Unrolled: xi must be a number >= 0 or None '
                             f'(the weight lr), got {self.xi!r}')
        if not isinstance(self.eps, (int, float)) or not self.eps > 0:
            raise ValueError(f'Unrolled: eps must be a number > 0, got '
                             f'{self.eps!r}')

    def _weights(self) -> List[Tuple[torch.Tensor, float, float, float]]:
        """(parameter, ξ, momentum, weight decay) of every weight."""
        optimizer = self.weight_wrapper.optimizer
        out = []
        for group in optimizer.param_groups:
            xi = group['lr'] if self.xi is None else float(self.xi)
            momentum = group.get('momentum', 0.0) if isinstance(
                optimizer, torch.optim.SGD) else 0.0
            for p in group['params']:
                if p.requires_grad:
                    out.append(
                        (p, xi, momentum, group.get('weight_decay', 0.0)))
        return out

    def hypergradient(
            self, model: nn.Module, params: List[torch.Tensor],
            policy_batch) -> Tuple[torch.Tensor, List[torch.Tensor], dict]:
        """The search loss at ``w'``, the α gradients and the sizes of the
        direct and implicit terms (``implicit_ratio``: ‖implicit‖ / ‖direct‖
        over α)."""
        weights = self._weights()
        tensors = [p for p, _, _, _ in weights]
        saved = [p.detach().clone() for p in tensors]
        optimizer = self.weight_wrapper.optimizer
        grads = _mean_over_ranks(
            _grads(batch_loss(model, self.weight_batch), tensors))
        try:
            with torch.no_grad():
                for (p, xi, momentum, decay), g in zip(weights, grads):
                    buffer = optimizer.state.get(p, {}).get('momentum_buffer')
                    step = g + decay * p
                    if momentum and buffer is not None:
                        step = step + momentum * buffer
                    p.sub_(xi * step)
            loss = batch_loss(model, policy_batch)
            both = _mean_over_ranks(_grads(loss, params + tensors))
            direct, dw = both[:len(params)], both[len(params):]
            with torch.no_grad():
                for p, value in zip(tensors, saved):
                    p.copy_(value)
            v = [xi * g for (_, xi, _, _), g in zip(weights, dw)]
            norm = torch.sqrt(sum((x.double()**2).sum() for x in v))
            implicit = [torch.zeros_like(p) for p in params]
            if float(norm) > 0:
                r = self.eps / float(norm)
                sides = []
                for sign in (1, -1):
                    with torch.no_grad():
                        for p, value, x in zip(tensors, saved, v):
                            p.copy_(value + sign * r * x)
                    sides.append(
                        _mean_over_ranks(
                            _grads(
                                batch_loss(model, self.weight_batch), params)))
                implicit = [(a - b) / (2 * r) for a, b in zip(*sides)]
        finally:
            with torch.no_grad():
                for p, value in zip(tensors, saved):
                    p.copy_(value)
        total = [d - i for d, i in zip(direct, implicit)]
        size = torch.sqrt((direct[0].double()**2).sum())
        ratio = float(torch.sqrt((implicit[0].double()**2).sum()) /
                      size) if float(size) > 0 else 0.0
        return loss, total, dict(implicit_ratio=ratio)


def _first_non_finite(t: torch.Tensor) -> float:
    flat = t.detach().flatten()
    return flat[~torch.isfinite(flat)][0].item()


def search_diagnostics(weights: torch.Tensor, alpha_grad: torch.Tensor,
                       op_names) -> Dict[str, float]:
    """What an α step shows about the search's drift.

    Args:
        weights (Tensor): (E, K) softmax(α / temperature) before the step.
        alpha_grad (Tensor): (E, K) gradient of the search loss w.r.t. α.
        op_names (sequence of str): The K ops.

    Returns:
        dict: ``alpha_entropy``: the mean over edges of the entropy of
        softmax(α) divided by log K (1: uniform, 0: one op per edge);
        ``identity_pull`` (when the op set has ``identity``): the mean over
        edges of ``mean_k g_ek - g_e,identity`` over the mean of ``|g|``: how
        much a gradient-descent step raises the identity's α above the mean
        op's (> 0: the search is pulled toward the identity clip), in units
        of the gradient's mean size (the raw gradients are ~1e-5; this
        ratio reads in a log line).
    """
    weights = weights.detach().double()
    entropy = -(weights * weights.clamp(min=1e-30).log()).sum(-1)
    out = {
        'alpha_entropy':
        float(entropy.mean()) /
        math.log(weights.shape[-1]) if weights.shape[-1] > 1 else 0.0
    }
    if 'identity' in op_names:
        grad = alpha_grad.detach().double()
        k = list(op_names).index('identity')
        scale = float(grad.abs().mean())
        out['identity_pull'] = (
            float((grad.mean(-1) - grad[:, k]).mean()) /
            scale if scale > 0 else 0.0)
    return out


def arch_step(model: nn.Module,
              optim_wrapper: OptimWrapper,
              data_batch: Union[dict, tuple, list],
              iteration: int,
              diagnostics: Optional[dict] = None,
              unrolled: Optional[Unrolled] = None) -> float:
    """One step of the clip cell's architecture parameters on ``data_batch``,
    the weights fixed.

    The loss of the batch is differentiated with respect to
    ``cell.arch_parameters()`` only (``torch.autograd.grad`` inside
    ``cell.arch_grad()``): no weight gets a ``.grad``, the weights are not
    updated, and the buffers (BN running statistics) are restored after the
    forward. Under a distributed run the gradients and the loss are averaged
    over the ranks in one all-reduce, so every rank takes the same step and α
    stays identical everywhere (the forward runs on the unwrapped model: DDP
    does not see it).

    Precision: with a plain ``OptimWrapper`` the step runs in full precision
    (autocast off). With an ``AmpOptimWrapper`` (``--amp``:
    :class:`DASOptimWrapperConstructor` gives the policy one when the
    weights have one) the forward runs under its autocast, the loss is
    scaled by the policy wrapper's own ``GradScaler`` before the gradients
    are taken, and a step whose scaled gradients overflow is skipped by the
    scaler (the scale backs off) instead of raising; the second-order step
    is refused there (its finite difference needs full-precision
    gradients).

    Args:
        model (nn.Module): The model (``BaseModel`` with a data preprocessor
            and a ``clip_cell``), possibly wrapped, in train mode.
        optim_wrapper (OptimWrapper): The policy optimizer wrapper, over the
            cell's architecture parameters (``optim_wrapper['policy']`` of
            :class:`DASOptimWrapperConstructor`).
        data_batch (dict | tuple | list): A batch from the policy dataloader,
            as given to ``train_step``.
        iteration (int): The runner's iteration, for error messages.
        diagnostics (dict, optional): Filled with
            :func:`search_diagnostics` of this step (the gradient averaged
            over the ranks, α before the step) and, unrolled, the
            ``implicit_ratio`` of :meth:`Unrolled.hypergradient`.
        unrolled (Unrolled, optional): Take DARTS' second-order step (the
            search loss at the virtually stepped weights, and the implicit
            term); None: first order.

    Returns:
        float: The search loss (averaged over the ranks).

    Raises:
        FloatingPointError: The loss, a gradient or an updated parameter is
            not finite; the message names the parameter and the iteration
            (under loss scaling, non-finite gradients are the scaler's to
            skip).
        ValueError: ``unrolled`` with an ``AmpOptimWrapper``.
    """
    model = unwrap_model(model)
    cell = clip_cell_of(model, 'arch_step')
    params = list(cell.arch_parameters())
    names = parameter_names(model, params)
    scaler = (
        optim_wrapper.loss_scaler
        if isinstance(optim_wrapper, AmpOptimWrapper) else None)
    if scaler is not None and unrolled is not None:
        raise ValueError(
            'arch_step: the second-order step (unrolled) does not run under '
            'mixed precision (an AmpOptimWrapper for the policy): its finite '
            'difference needs full-precision gradients; drop --amp or the '
            'second-order step (das_search.unrolled=False)')
    # a plain wrapper's step is full precision even inside an autocast
    # region; an AmpOptimWrapper's is under its autocast
    precision = (
        torch.autocast(cell.alpha.device.type, enabled=False)
        if scaler is None else optim_wrapper.optim_context(model))
    with cell.arch_grad(), frozen_buffers(model), precision:
        if unrolled is None:
            loss = batch_loss(model, data_batch)
            grads = _grads(
                loss if scaler is None else scaler.scale(loss), params)
        else:
            loss, grads, sizes = unrolled.hypergradient(
                model, params, data_batch)
            if diagnostics is not None:
                diagnostics.update(sizes)
        # one collective for every gradient and the loss
        flat = torch.cat([g.flatten()
                          for g in grads] + [loss.detach().reshape(1)])
        if get_world_size() > 1:
            all_reduce(flat, op='mean')
        search_loss = flat[-1].item()
        if not torch.isfinite(flat[-1]):
            raise FloatingPointError(
                f'arch_step: the search loss is {search_loss} at iteration '
                f'{iteration}; the policy parameters cannot be updated')
        # the scaler's factor (a power of two: dividing by it is exact)
        unscale = 1.0 if scaler is None else 1.0 / scaler.get_scale()
        offset = 0
        for param, name in zip(params, names):
            grad = flat[offset:offset + param.numel()].view_as(param)
            offset += param.numel()
            finite = bool(torch.isfinite(grad).all())
            if not finite and scaler is None:
                raise FloatingPointError(
                    f'arch_step: the gradient of {name} holds '
                    f'{_first_non_finite(grad)} at iteration {iteration}')
            param.grad = grad
            if (diagnostics is not None and param is cell.alpha and finite):
                diagnostics.update(
                    search_diagnostics(cell.op_weights(), grad * unscale,
                                       cell.op_names))
        # inside arch_grad(): OptimWrapper's gradient clipping only sees
        # parameters that require grad. AmpOptimWrapper.step unscales the
        # gradients, skips the update if they overflowed and updates the
        # scale.
        optim_wrapper.step()
        optim_wrapper.zero_grad()
    for param, name in zip(params, names):
        if not torch.isfinite(param).all():
            raise FloatingPointError(
                f'arch_step: {name} holds {_first_non_finite(param)} after '
                f'the step at iteration {iteration} (search loss '
                f'{search_loss:.4g}); lower the policy learning rate')
    return search_loss
