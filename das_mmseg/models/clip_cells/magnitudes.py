"""The per-edge op magnitudes of a clip cell: drawn once from a seed (as the
authors' code), given in a config, or learned through logits.

A magnitude matrix is ``(E, K)``: one per-step magnitude per edge and op. Ops
without a magnitude (identity, flips) hold their identity value.
"""
import math
from typing import Dict, Sequence, Union

import torch
from torch import Tensor

from das_mmseg.augment.ops import AugmentOp

#: what a config may give instead of drawn magnitudes: op name -> magnitude
#: on every edge, or an (E, K) nested sequence
GivenMagnitudes = Union[Dict[str, float], Sequence, None]


def op_ranges(ops: Sequence[AugmentOp]) -> Tensor:
    """(K, 2) float32 ``init_range`` of each op: where magnitudes are drawn
    and where learned ones stay (the paper's ranges, not the op's bounds)."""
    return torch.tensor([op.init_range for op in ops], dtype=torch.float32)


def magnitudes_from_logits(logits: Tensor, ranges: Tensor) -> Tensor:
    """``low + (high - low) * sigmoid(logits)``.

    Args:
        logits (Tensor): (E, K) or (K, ).
        ranges (Tensor): (K, 2) ``(low, high)`` per op.

    Returns:
        Tensor: The magnitudes, shaped as ``logits``.
    """
    low, high = ranges.unbind(-1)
    return low + (high - low) * torch.sigmoid(logits)


def logits_of_magnitudes(values: Tensor, ranges: Tensor) -> Tensor:
    """The inverse of :func:`magnitudes_from_logits`: (E, K) magnitudes →
    their logits (0 for ops whose range is a point; values at the range's
    ends are pulled in by 1e-6 of the span, so the logits are finite)."""
    low, high = ranges.unbind(-1)
    span = (high - low)
    u = ((values - low) / span.clamp(min=1e-12)).clamp(1e-6, 1 - 1e-6)
    return torch.where(span > 0, torch.logit(u), torch.zeros_like(u))


def draw_magnitudes(ops: Sequence[AugmentOp], num_edges: int,
                    seed: int) -> Tensor:
    """(E, K) magnitudes drawn uniformly from each op's ``init_range`` with a
    generator seeded by ``seed`` (its own: the global generator is not
    touched); ops without a magnitude get their identity value."""
    generator = torch.Generator().manual_seed(seed)
    low, high = op_ranges(ops).unbind(-1)
    values = low + (high - low) * torch.rand(
        (num_edges, len(ops)), generator=generator)
    for k, op in enumerate(ops):
        if not op.has_magnitude:
            values[:, k] = op.identity_magnitude
    return values


def check_magnitude(op: AugmentOp, name: str, value, learned: bool) -> float:
    """``value`` as a float if ``op`` can start from it: a finite number
    within the op's bounds, strictly inside its ``init_range`` when learned
    (a logit cannot reach the ends), its identity value for an op without a
    magnitude. ``name`` says where the value came from in the error."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and math.isfinite(value)):
        raise ValueError(f'ClipCell: magnitude of {name!r} must be a '
                         f'finite number, got {value!r}')
    if not op.has_magnitude:
        if value != op.identity_magnitude:
            raise ValueError(f'ClipCell: op {name!r} takes no magnitude, '
                             f'got {value!r}')
        return float(value)
    low, high = op.bounds
    if learned:
        low, high = op.init_range
        if not low < value < high:
            raise ValueError(
                f'ClipCell: initial magnitude of {name!r} is {value!r}, '
                f'outside the open range ({low}, {high}) learned '
                'magnitudes stay in (the op\'s init_range)')
    elif not low <= value <= high:
        raise ValueError(
            f'ClipCell: magnitude of {name!r} is {value!r}, outside its '
            f'bounds [{low}, {high}]')
    return float(value)


def initial_magnitudes(ops: Sequence[AugmentOp], op_names: Sequence[str],
                       num_edges: int, seed: int, given: GivenMagnitudes,
                       learned: bool) -> Tensor:
    """A cell's starting (E, K) magnitudes: drawn with ``seed``
    (:func:`draw_magnitudes`), then replaced by the ``given`` ones.

    Args:
        ops (sequence of AugmentOp): The op set, K ops.
        op_names (sequence of str): Their names.
        num_edges (int): E.
        seed (int): Seed of the draw.
        given (dict | sequence, optional): Op name → magnitude on every edge
            (the other ops keep their draw), or all (E, K) values.
        learned (bool): Whether the cell learns them (see
            :func:`check_magnitude`).

    Returns:
        Tensor: (E, K) float32.
    """
    values = draw_magnitudes(ops, num_edges, seed)
    if given is None:
        return values
    if isinstance(given, dict):
        unknown = sorted(set(given) - set(op_names))
        if unknown:
            raise ValueError(
                f'ClipCell: magnitudes given for {unknown}, not in the '
                f'op set {list(op_names)}')
        for name, value in given.items():
            k = list(op_names).index(name)
            values[:, k] = check_magnitude(ops[k], name, value, learned)
        return values
    shape = tuple(values.shape)
    try:
        rows = torch.as_tensor(given, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        rows = None
    if rows is None or tuple(rows.shape) != shape:
        raise ValueError(
            'ClipCell: magnitudes must be a dict op name → number or an '
            f'(E, K) = {shape} nested sequence (edges × ops), got '
            f'{given!r}')
    for k, (op, name) in enumerate(zip(ops, op_names)):
        for e in range(shape[0]):
            check_magnitude(op, f'{name} (edge {e})', float(rows[e, k]),
                            learned)
    return rows.clone()
