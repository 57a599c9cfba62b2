"""The memory of one training step, measured without the memory: every
tensor storage an operation creates is counted while it lives.

:class:`LiveTensorMemory` is a ``TorchDispatchMode``: each storage an op
returns is added to the running total once and taken off when its Python
object is freed, and the highest total is kept. It counts what torch's CUDA
allocator counts as *allocated* (``torch.cuda.max_memory_allocated``), not the
allocator's cache, fragmentation, the CUDA context or cuDNN's workspaces. On
the ``meta`` device no data exists, so a step of a model far too large for
this machine is measured in seconds with the shapes it would have (shape
functions are exact; data-dependent ops are not run: see
:func:`step_memory`). Deterministic algorithms
(``torch.use_deterministic_algorithms(True)``, a Runner's
``randomness.deterministic=True``) can add workspace the count on the
``meta`` device does not see (1.2 MB in an α step of the tests' model).
On the CPU the count agrees with the resident memory of a real step when
large allocations are returned to the system at once
(``MALLOC_MMAP_THRESHOLD_=65536``): ``tools/benchmark.py memory --device cpu
--rss`` prints both (tests/test_analysis/test_memory.py).
"""
import copy
import gc
import weakref
from dataclasses import dataclass
from typing import Dict, Iterable, Optional

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary


class LiveTensorMemory(TorchDispatchMode):
    """Bytes of the tensor storages alive, and their peak, while the mode is
    on. Storages made before are counted when given to :meth:`track` (the
    parameters, buffers and optimizer state a step starts from).

    Example::

        memory = LiveTensorMemory()
        memory.track(model.parameters())
        with memory:
            loss = model(x).sum()
            loss.backward()
        memory.peak_bytes
    """

    def __init__(self) -> None:
        super().__init__()
        self._live = WeakIdKeyDictionary()
        self.current_bytes = 0
        self.peak_bytes = 0

    def _add(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        if storage in self._live:
            return  # a view, or an op that returned its input
        size = storage.nbytes()
        self._live[storage] = size
        self.current_bytes += size
        self.peak_bytes = max(self.peak_bytes, self.current_bytes)
        weakref.finalize(storage, self._free, size)

    def _free(self, size: int) -> None:
        self.current_bytes -= size

    def track(self, tensors: Iterable[torch.Tensor]) -> None:
        """Count storages that exist already."""
        for tensor in tensors:
            self._add(tensor)

    def reset_peak(self) -> None:
        self.peak_bytes = self.current_bytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for value in tree_flatten(out)[0]:
            if isinstance(value, torch.Tensor):
                self._add(value)
        return out


def optimizer_state(optimizer: torch.optim.Optimizer):
    """The tensors of an optimizer's state (momentum buffers, Adam's
    moments)."""
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value):
                yield value


@dataclass
class StepMemory:
    """Bytes of one step: ``persistent`` (parameters, buffers, optimizer
    state: alive between steps) and ``peak`` (the most alive at once during
    the step, persistent included)."""
    persistent: int
    peak: int

    @property
    def transient(self) -> int:
        """What the step adds at its peak: activations, gradients,
        temporaries."""
        return self.peak - self.persistent


def step_memory(step, model: nn.Module,
                optimizers: Iterable[torch.optim.Optimizer]) -> StepMemory:
    """The memory of ``step()`` in its steady state.

    ``step`` runs twice: the first run creates the optimizer state (momentum
    buffers), the second is measured.

    Args:
        step (callable): One training step of ``model`` (no arguments).
        model (nn.Module): Its parameters and buffers are persistent.
        optimizers (iterable): Their state is persistent.

    Returns:
        StepMemory: Of the second run.
    """
    import torch.fx.experimental._config as fx_config
    optimizers = list(optimizers)
    # on the meta device, nonzero (mmseg's accuracy: a masked select) takes
    # its largest size, every element selected
    with fx_config.patch(meta_nonzero_assume_all_nonzero=True):
        step()
        memory = LiveTensorMemory()
        memory.track(model.parameters())
        memory.track(model.buffers())
        for optimizer in optimizers:
            memory.track(optimizer_state(optimizer))
        persistent = memory.current_bytes
        # tensors held in reference cycles live until the garbage collector
        # runs, whenever that is: collect first, none during the step, so
        # the count does not depend on the collector's timing
        gc.collect()
        gc.disable()
        try:
            with memory:
                step()
        finally:
            gc.enable()
    return StepMemory(persistent, memory.peak_bytes)


def synthetic_batch(batch_size: int, size, device) -> Dict[str, list]:
    """A batch as the data loader gives it: ``batch_size`` uint8 images of
    ``size`` (H, W) with all-zero labels (class 0: the labels' values do not
    change the memory), on ``device``."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    h, w = size
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.zeros(3, h, w, dtype=torch.uint8, device=device))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.zeros(1, h, w, dtype=torch.long, device=device))
        sample.set_metainfo(
            dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def training_memory(
    model: nn.Module,
    batch: dict,
    weight_optimizer: torch.optim.Optimizer,
    policy_optimizer: Optional[torch.optim.Optimizer] = None
) -> Dict[str, StepMemory]:
    """The memory of a segmentor's training steps on ``batch``.

    - ``'weight step'``: the data preprocessor, the loss, its backward and
      the weight optimizer's step (gradients freed after it, as mmengine's
      ``zero_grad`` does);
    - ``'α step'`` (a model with a relaxed clip cell and ``policy_optimizer``
      given): the search loss and its gradient with respect to the cell's
      architecture parameters, the buffers restored: :func:`arch_step`'s
      memory without its host reads (finite checks, the logged loss), which
      the ``meta`` device cannot answer.

    Gradient clipping is not applied (its norm is a host read; its
    temporaries are one float per parameter tensor).
    """
    from ..engine.arch_step import _grads, batch_loss, frozen_buffers
    from ..engine.utils import clip_cell_of
    cell = getattr(model, 'clip_cell', None)

    def weight_step():
        data = model.data_preprocessor(copy.copy(batch), True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        loss.backward()
        weight_optimizer.step()
        weight_optimizer.zero_grad(set_to_none=True)

    out = dict()
    out['weight step'] = step_memory(weight_step, model, [weight_optimizer])
    if policy_optimizer is not None and cell is not None:
        clip_cell_of(model, 'training_memory')
        params = list(cell.arch_parameters())

        def alpha_step():
            with cell.arch_grad(), frozen_buffers(model):
                grads = _grads(batch_loss(model, copy.copy(batch)), params)
            for param, grad in zip(params, grads):
                param.grad = grad
            policy_optimizer.step()
            policy_optimizer.zero_grad(set_to_none=True)

        out['α step'] = step_memory(alpha_step, model,
                                    [weight_optimizer, policy_optimizer])
    return out
