"""FLOPs of a (clip) model, counted on the operations it really runs.

A clip model runs its backbone on T frames, its clip cell's warps and its
temporal modules; mmengine's ``get_model_complexity_info`` traces the model
with ``torch.jit.trace``, which the clip models do not survive (T becomes a
tensor). Here the count comes from ``torch.utils.flop_counter.FlopCounterMode``
(a dispatch mode: every executed aten op is seen, whatever Python ran it),
with formulas for the ops it does not know.

Convention, as mmseg's ``get_flops.py`` (fvcore / mmengine): one
multiply-add is one FLOP. Counted:

- convolutions (2-D, 3-D, grouped): ``out_numel * C_in / groups * prod(k)``
  (no bias), and matrix products (``mm``, ``addmm``, ``bmm``, ...);
- ``grid_sample`` (the clip cell's and the fusion's warps), bilinear: 4 per
  output value; nearest: 0;
- bilinear upsampling: 4 per output value (as fvcore).

Not counted, as in fvcore: element-wise arithmetic, activations,
normalisation, pooling, and shifts (TSM's shift costs nothing).
"""
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Dict

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

aten = torch.ops.aten

# FlopCounterMode counts 2 per multiply-add (its convention); custom formulas
# below follow it, and every count is halved at the end.
_PER_MULTIPLY_ADD = 2


def _grid_sample_flops(inputs, grid, mode, *args, out_shape=None, **kwargs):
    # mode 0: bilinear, 1: nearest, 2: bicubic (aten's enum)
    per_value = {0: 4, 1: 0, 2: 16}.get(mode, 4)
    return _PER_MULTIPLY_ADD * per_value * math.prod(out_shape)


def _upsample_bilinear_flops(*args, out_shape=None, **kwargs):
    return _PER_MULTIPLY_ADD * 4 * math.prod(out_shape)


CUSTOM_FORMULAS = {
    aten.grid_sampler_2d: _grid_sample_flops,
    aten.upsample_bilinear2d: _upsample_bilinear_flops,
}


@dataclass
class Complexity:
    """FLOPs (multiply-adds) and parameters of one forward pass.

    Attributes:
        flops (int): Total.
        params (int): Parameters of the model.
        parts (dict[str, int]): FLOPs per part: ``'clip cell'``,
            ``'temporal modules'``, ``'backbone'`` (without its temporal
            modules), ``'neck'``, ``'heads and fusion'`` (the rest).
        by_operator (dict[str, int]): FLOPs per aten op.
    """
    flops: int
    params: int
    parts: Dict[str, int] = field(default_factory=dict)
    by_operator: Dict[str, int] = field(default_factory=dict)


TOP_LEVEL_PARTS = {
    'clip_cell': 'clip cell',
    'backbone': 'backbone',
    'neck': 'neck'
}


def count_flops(model: nn.Module, run: Callable[[], object]) -> Complexity:
    """Count the FLOPs of ``run()`` (a forward of ``model``), split by part.

    Args:
        model (nn.Module): The model ``run`` calls; its submodules name the
            parts.
        run (callable): Zero-argument forward pass, e.g.
            ``lambda: model(inputs)``; run under ``torch.no_grad``.

    Returns:
        Complexity: Totals, parts and operators.
    """
    from das_mmseg.models.temporal import TemporalModule
    temporal = {
        name
        for name, module in model.named_modules()
        if isinstance(module, TemporalModule)
    }
    counter = FlopCounterMode(display=False, custom_mapping=CUSTOM_FORMULAS)
    with counter, torch.no_grad():
        run()
    counts = counter.get_flop_counts()
    total = {str(op): n for op, n in counts.get('Global', {}).items()}
    # ModuleTracker names a module '<root class>.<path>'; a module counts
    # the ops of its whole subtree, so parts are leaves of the split:
    # temporal modules first, then the top-level children.
    root = type(model).__name__
    claimed = defaultdict(int)
    for tracked, ops in counts.items():
        if not tracked.startswith(root + '.'):
            continue
        path = tracked[len(root) + 1:]
        if path in temporal:
            claimed['temporal modules'] += sum(ops.values())
        elif path in TOP_LEVEL_PARTS:
            claimed[TOP_LEVEL_PARTS[path]] += sum(ops.values())
    claimed['backbone'] -= claimed['temporal modules']
    whole = sum(total.values())
    parts = {
        part: claimed.get(part, 0)
        for part in ('clip cell', 'backbone', 'temporal modules', 'neck')
    }
    parts['heads and fusion'] = whole - sum(parts.values())
    return Complexity(
        flops=whole // _PER_MULTIPLY_ADD,
        params=sum(p.numel() for p in model.parameters()),
        parts={
            k: v // _PER_MULTIPLY_ADD
            for k, v in parts.items()
        },
        by_operator={
            k: v // _PER_MULTIPLY_ADD
            for k, v in sorted(total.items())
        })


def format_count(value: float) -> str:
    """``1234567`` → ``'1.235M'`` (as mmengine's ``_format_size``)."""
    for unit, scale in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(value) >= scale:
            return f'{value / scale:.3f}{unit}'
    return str(int(value))
