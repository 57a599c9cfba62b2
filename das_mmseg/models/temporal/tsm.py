"""Temporal Shift Module (Lin, Gan, Han, "TSM: Temporal Shift Module for
Efficient Video Understanding", ICCV 2019)."""
from typing import Optional

import torch
from torch import Tensor

from ...registry import register_in_mmseg_and_mmpretrain
from .base import TemporalModule


def _shift(clips: Tensor, fold: int, backward_first: bool) -> Tensor:
    """Shift channels ``[:fold]`` and ``[fold:2 * fold]`` of
    ``(N, T, C, H, W)`` clips by one frame, zero-padded.

    With ``backward_first`` frame t takes channels ``[:fold]`` from frame t + 1
    and ``[fold:2 * fold]`` from frame t - 1; without it the directions are
    swapped (the adjoint, used for the gradient). One fresh output, one copy.
    """
    src_next, src_prev = (slice(0, fold), slice(fold, 2 * fold))
    if not backward_first:
        src_next, src_prev = src_prev, src_next
    out = torch.empty_like(clips)
    out[:, :-1, src_next] = clips[:, 1:, src_next]
    out[:, -1, src_next] = 0
    out[:, 1:, src_prev] = clips[:, :-1, src_prev]
    out[:, 0, src_prev] = 0
    out[:, :, 2 * fold:] = clips[:, :, 2 * fold:]
    return out


class _TemporalShiftFunction(torch.autograd.Function):
    """The shift as one autograd node: its gradient is the opposite shift, so
    backward costs one copy as well (indexed assignments would record a chain
    of full-size gradient copies)."""

    @staticmethod
    def forward(ctx, clips: Tensor, fold: int) -> Tensor:
        ctx.fold = fold
        return _shift(clips, fold, backward_first=True)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return _shift(grad.contiguous(), ctx.fold, backward_first=False), None


def temporal_shift(clips: Tensor, fold: int) -> Tensor:
    """Shift ``fold`` channels one frame back in time and the next ``fold``
    channels one frame forward.

    Args:
        clips (Tensor): ``(N, T, C, H, W)``.
        fold (int): Channels per direction; ``2 * fold <= C``.

    Returns:
        Tensor: ``(N, T, C, H, W)``; frame t holds channels ``[:fold]`` of
        frame t + 1, channels ``[fold:2 * fold]`` of frame t - 1 (zeros where
        that frame does not exist) and the other channels of frame t.
    """
    if not 0 <= 2 * fold <= clips.shape[2]:
        raise ValueError(f'temporal_shift: fold={fold} needs 0 <= 2 * fold <= '
                         f'channels={clips.shape[2]}')
    return _TemporalShiftFunction.apply(clips.contiguous(), fold)


@register_in_mmseg_and_mmpretrain(aliases=('TSM', ))
class TemporalShift(TemporalModule):
    """TSM: a fraction of the channels shifted one frame back and the same
    fraction one frame forward; zero FLOPs.

    Registered as ``TemporalShift`` and ``TSM``. Inserted by default at the
    input of a residual branch ("residual shift"), so the identity path keeps
    every frame's own features.

    Args:
        channels (int, optional): Channels of the input; when given, checked to
            leave at least one shifted channel.
        num_segments (int): Frames per clip, T.
        shift_ratio (float): Fraction of the channels shifted in each
            direction, in (0, 0.5]. Default 1/8.
        init_cfg (dict | list[dict], optional): Initialisation config
            (TSM has no parameters).

    Shape:
        ``(N * T, C, H, W)`` -> ``(N * T, C, H, W)``.
    """

    default_position = 'input'

    def __init__(self,
                 channels: Optional[int] = None,
                 num_segments: int = 8,
                 shift_ratio: float = 1 / 8,
                 init_cfg=None) -> None:
        super().__init__(num_segments, init_cfg)
        if not 0 < shift_ratio <= 0.5:
            raise ValueError(
                f'shift_ratio must be in (0, 0.5], got {shift_ratio}')
        if channels is not None and int(channels * shift_ratio) < 1:
            raise ValueError(
                f'TSM: shift_ratio={shift_ratio} of channels={channels} '
                'shifts no channel')
        self.channels = channels
        self.shift_ratio = shift_ratio

    def forward(self, x: Tensor) -> Tensor:
        if self.num_segments == 1:
            return x
        clips = self.clip_view(x)
        return temporal_shift(clips,
                              int(x.shape[1] * self.shift_ratio)).view_as(x)

    def extra_repr(self) -> str:
        return (f'num_segments={self.num_segments}, '
                f'shift_ratio={self.shift_ratio}')
