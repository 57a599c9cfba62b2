"""One first-order step of the clip cell's architecture parameters (α and,
when learned, the magnitudes) on a batch, the weights fixed: the upper level
of the DAS bilevel search (first-order DARTS)."""
import math
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Union

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size
from mmengine.optim import OptimWrapper

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
        edges of ``mean_k g_ek - g_e,identity``, how much a gradient-descent
        step raises the identity's α above the mean op's (> 0: the search is
        pulled toward the identity clip), in units of the gradient.
    """
    weights = weights.detach().double()
    entropy = -(weights * weights.clamp(min=1e-30).log()).sum(-1)
    out = {
        'alpha_entropy':
        float(entropy.mean()) / math.log(weights.shape[-1])
        if weights.shape[-1] > 1 else 0.0
    }
    if 'identity' in op_names:
        grad = alpha_grad.detach().double()
        k = list(op_names).index('identity')
        out['identity_pull'] = float((grad.mean(-1) - grad[:, k]).mean())
    return out


def arch_step(model: nn.Module,
              optim_wrapper: OptimWrapper,
              data_batch: Union[dict, tuple, list],
              iteration: int,
              diagnostics: Optional[dict] = None) -> float:
    """One step of the clip cell's architecture parameters on ``data_batch``,
    the weights fixed.

    The loss of the batch is differentiated with respect to
    ``cell.arch_parameters()`` only (``torch.autograd.grad`` inside
    ``cell.arch_grad()``): no weight gets a ``.grad``, the weights are not
    updated, and the buffers (BN running statistics) are restored after the
    forward. Under a distributed run the gradients and the loss are averaged
    over the ranks in one all-reduce, so every rank takes the same step and α
    stays identical everywhere (the forward runs on the unwrapped model: DDP
    does not see it). The step runs in full precision (no autocast).

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
            over the ranks, α before the step).

    Returns:
        float: The search loss (averaged over the ranks).

    Raises:
        FloatingPointError: The loss, a gradient or an updated parameter is
            not finite; the message names the parameter and the iteration.
    """
    model = unwrap_model(model)
    cell = clip_cell_of(model, 'arch_step')
    params = list(cell.arch_parameters())
    names = parameter_names(model, params)
    with cell.arch_grad(), frozen_buffers(model):
        data = model.data_preprocessor(data_batch, True)
        losses = (
            model(**data, mode='loss') if isinstance(data, dict) else model(
                *data, mode='loss'))
        loss, _ = model.parse_losses(losses)
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        grads = [
            torch.zeros_like(p) if g is None else g
            for p, g in zip(params, grads)
        ]
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
        offset = 0
        for param, name in zip(params, names):
            grad = flat[offset:offset + param.numel()].view_as(param)
            offset += param.numel()
            if not torch.isfinite(grad).all():
                raise FloatingPointError(
                    f'arch_step: the gradient of {name} holds '
                    f'{_first_non_finite(grad)} at iteration {iteration}')
            param.grad = grad
            if diagnostics is not None and param is cell.alpha:
                diagnostics.update(
                    search_diagnostics(cell.op_weights(), grad,
                                       cell.op_names))
        # inside arch_grad(): OptimWrapper's gradient clipping only sees
        # parameters that require grad
        optim_wrapper.step()
        optim_wrapper.zero_grad()
    for param, name in zip(params, names):
        if not torch.isfinite(param).all():
            raise FloatingPointError(
                f'arch_step: {name} holds {_first_non_finite(param)} after '
                f'the step at iteration {iteration} (search loss '
                f'{search_loss:.4g}); lower the policy learning rate')
    return search_loss
