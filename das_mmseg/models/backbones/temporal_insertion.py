"""Turning a built 2-D backbone into a video backbone by inserting temporal
modules into its blocks.

The 2-D backbone is built as it is; then the first or last conv of chosen
residual branches is replaced by a :class:`TemporalConv2d` that holds the same
weight tensors and runs a temporal module on the conv's input or output.
Parameter names stay those of the 2-D backbone, so its checkpoints load
unchanged and only the temporal modules' own parameters
(``...conv2.temporal.*``) are new.
"""
import functools
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.registry import Registry
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from das_mmseg.utils.validators import check_choice, check_int
from ..temporal import TemporalModule
from ..temporal.base import check_num_segments

POSITIONS = ('input', 'output')


class TemporalConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` followed (``position='output'``) or preceded
    (``'input'``) by a temporal module.

    Args:
        conv (nn.Conv2d): The conv to extend; its parameters are taken over,
            not copied.
        temporal (TemporalModule): The temporal module, registered as the child
            ``temporal``.
        position (str): ``'input'`` or ``'output'``.
    """

    def __init__(self, conv: nn.Conv2d, temporal: TemporalModule,
                 position: str) -> None:
        if type(conv) is not nn.Conv2d:
            raise TypeError(
                'temporal modules are inserted at plain nn.Conv2d layers, '
                f'got {type(conv).__name__}')
        check_choice('position', position, POSITIONS)
        # placeholders, replaced by the conv's own parameters below
        super().__init__(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.groups,
            conv.bias is not None,
            conv.padding_mode,
            device='meta')
        self.weight = conv.weight
        self.bias = conv.bias
        self.temporal = temporal
        self.position = position

    def forward(self, x: Tensor) -> Tensor:
        if self.position == 'input':
            return super().forward(self.temporal(x))
        return self.temporal(super().forward(x))


class NonReentrantCheckpoint:
    """Gradient checkpointing of a block with torch's non-reentrant
    checkpoint: its whole forward (temporal module included) is recomputed
    in the backward pass.

    mmseg's and mmpretrain's blocks checkpoint (``with_cp=True``) with the
    reentrant variant, which cannot give ``torch.autograd.grad(loss,
    inputs)``: the α step, which differentiates the search loss with respect
    to the clip cell's parameters only, failed on it ("When
    use_reentrant=True, torch.utils.checkpoint is incompatible with .grad()").
    The non-reentrant checkpoint gives the same gradients (and, like the
    reentrant one, updates BN running statistics again when it recomputes).
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.requires_grad and torch.is_grad_enabled():
            return checkpoint(super().forward, x, use_reentrant=False)
        return super().forward(x)


@functools.lru_cache(maxsize=None)
def non_reentrant_variant(block_cls: type) -> type:
    """``block_cls`` checkpointed by :class:`NonReentrantCheckpoint`."""
    return type(f'Checkpointed{block_cls.__name__}',
                (NonReentrantCheckpoint, block_cls), {'__module__': __name__})


class VideoBackboneMixin:
    """Temporal modules and the clip length ``num_segments`` for a 2-D backbone
    class.

    A video backbone is
    ``class Video2D(Sites, VideoBackboneMixin, Backbone2D)``: the 2-D backbone
    is built from ``**kwargs`` as it is, then temporal modules are inserted at
    the sites the subclass names in :meth:`temporal_sites`, built from
    :attr:`temporal_registry`.

    Args:
        num_segments (int): Frames per clip, T. In a clip model the model
            states T and fills it in when it builds the backbone
            (:mod:`das_mmseg.models.clip_length`). Input is a batch of clips
            flattened frame-major, ``(N * T, 3, H, W)``; outputs are per
            frame, ``(N * T, C, h, w)``.
        temporal (dict, optional): Config of the temporal module
            (``dict(type='GSF', gate_ratio=0.25)``,
            ``dict(type='TSM', shift_ratio=0.125)``, ...); ``channels`` and
            ``num_segments`` are filled in. None builds the plain 2-D backbone.
            Default GSF.
        temporal_stages (Sequence[bool], optional): Per stage, whether its
            blocks get a module. Default all.
        temporal_interval (int): Every k-th residual block of a chosen stage
            gets a module (block 0, k, 2k, ...).
        temporal_position (str, optional): ``'input'`` of the residual branch's
            first conv or ``'output'`` of its last conv (before its norm).
            Default: the module's own (TSM ``'input'``, GSF ``'output'``).
        **kwargs: The 2-D backbone's arguments.
    """

    #: Registry the temporal module configs are built from.
    temporal_registry: Registry

    def __init__(self,
                 num_segments: int = 8,
                 temporal: Optional[dict] = dict(type='GSF'),
                 temporal_stages: Optional[Sequence[bool]] = None,
                 temporal_interval: int = 1,
                 temporal_position: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        sites = self.temporal_sites()
        if temporal_stages is None:
            temporal_stages = (True, ) * len(sites)
        if len(temporal_stages) != len(sites):
            raise ValueError(
                f'temporal_stages needs one flag per stage ({len(sites)}), '
                f'got {temporal_stages}')
        check_int('temporal_interval', temporal_interval, 1, kind='an int')
        self.temporal_cfg = temporal
        if temporal is not None:
            module_cls = self.temporal_registry.get(temporal['type'])
            if module_cls is None:
                raise KeyError(
                    f'temporal module type {temporal["type"]!r} is not '
                    'registered in '
                    f'{self.temporal_registry.name} MODELS (ours: TSM, GSF)')
            position = temporal_position or module_cls.default_position
            check_choice('temporal_position', position, POSITIONS)
            for stage, enabled in zip(sites, temporal_stages):
                for index, (first_owner, first_name, last_owner,
                            last_name) in enumerate(stage):
                    if not enabled or index % temporal_interval:
                        continue
                    if position == 'input':
                        owner, name = first_owner, first_name
                    else:
                        owner, name = last_owner, last_name
                    conv = getattr(owner, name)
                    channels = (
                        conv.in_channels
                        if position == 'input' else conv.out_channels)
                    module = self.temporal_registry.build(
                        dict(
                            temporal,
                            channels=channels,
                            num_segments=num_segments))
                    setattr(owner, name,
                            TemporalConv2d(conv, module, position))
        self.num_segments = num_segments
        if getattr(self, 'with_cp', False):
            self._checkpoint_without_reentry()
        # the 2-D __init__ froze its stages before the temporal modules existed
        self._freeze_stages()

    def _checkpoint_without_reentry(self) -> None:
        """``with_cp=True``: every block the 2-D backbone built with
        ``with_cp`` checkpoints with :class:`NonReentrantCheckpoint` instead
        of its own reentrant checkpoint (its class becomes the variant; its
        parameters and state dict stay as they are)."""
        for block in self.modules():
            if block is not self and getattr(block, 'with_cp', False):
                block.with_cp = False
                block.__class__ = non_reentrant_variant(type(block))

    def temporal_sites(
            self) -> List[List[Tuple[nn.Module, str, nn.Module, str]]]:
        """Per stage, per residual block: ``(owner, attribute name)`` of its
        branch's first conv and last conv."""
        raise NotImplementedError

    @property
    def num_segments(self) -> int:
        """Frames per clip, T; setting it updates every temporal module
        (clip models never do: they build the backbone for their T)."""
        return self._num_segments

    @num_segments.setter
    def num_segments(self, value: int) -> None:
        check_num_segments(value)
        for module in self.temporal_modules():
            module.num_segments = value
        self._num_segments = value

    def temporal_modules(self) -> List[TemporalModule]:
        """The inserted temporal modules, in network order."""
        return [m for m in self.modules() if isinstance(m, TemporalModule)]
