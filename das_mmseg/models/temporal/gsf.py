"""Gate-Shift-Fuse (Sudhakaran, Escalera, Lanz, "Gate-Shift-Fuse for Video
Action Recognition", TPAMI 2023)."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from ...registry import register_in_mmseg_and_mmpretrain
from .base import TemporalModule
from .tsm import temporal_shift


@register_in_mmseg_and_mmpretrain(aliases=('GSF', ))
class GateShiftFuse(TemporalModule):
    """GSF: gate a group of channels spatially, shift the gated part across
    frames, fuse it back with the rest.

    Registered as ``GateShiftFuse`` and ``GSF``. On the first
    ``gated = channels * gate_ratio`` channels (rounded down to even), split
    in two halves:

    1. gate: ``tanh(conv3d(relu(norm(x))))``, a 3x3x3 conv over (T, H, W) with
       2 groups giving one gate per half;
    2. shift: the gated part ``y = gate * x`` of the first half moves one frame
       back, of the second half one frame forward (zero-padded at the clip
       ends); the ungated residual ``r = x - y`` stays;
    3. fuse: per channel and frame,
       ``w = sigmoid(conv2d([pool(y_shifted), pool(r)]))`` (a 3x3 conv over
       channels x frames, one per half) and the output is
       ``w * y_shifted + (1 - w) * r``.

    The other channels pass through. Inserted by default after a residual
    branch's last conv, before its norm. The original's final channel
    interleave is left out: it would permute channels, so a pretrained 2-D
    backbone's weights would no longer fit.

    Args:
        channels (int): Channels of the input.
        num_segments (int): Frames per clip, T.
        gate_ratio (float): Fraction of the channels that are gated and
            shifted, in (0, 1]. Default 0.25.
        norm_cfg (dict): Norm before the gate conv. It runs on the frames,
            ``(N * T, gated, H, W)``; a batch norm there has the statistics of
            a 3-D batch norm on ``(N, gated, T, H, W)``. Default
            ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Initialisation config.

    Shape:
        ``(N * T, C, H, W)`` -> ``(N * T, C, H, W)``.
    """

    default_position = 'output'

    def __init__(self,
                 channels: int,
                 num_segments: int = 8,
                 gate_ratio: float = 0.25,
                 norm_cfg: Optional[dict] = None,
                 init_cfg=None) -> None:
        super().__init__(num_segments, init_cfg)
        if not 0 < gate_ratio <= 1:
            raise ValueError(f'gate_ratio must be in (0, 1], got {gate_ratio}')
        gated = int(channels * gate_ratio) // 2 * 2
        if gated < 2:
            raise ValueError(
                f'GSF: gate_ratio={gate_ratio} of channels={channels} gates '
                'fewer than 2 channels')
        self.channels = channels
        self.gate_ratio = gate_ratio
        self.gated_channels = gated
        self.gate_norm = build_norm_layer(norm_cfg or dict(type='BN'),
                                          gated)[1]
        # applied by gate_logits()
        self.gate_conv = nn.Conv3d(
            gated, 2, kernel_size=3, padding=1, groups=2)
        # input channels [y_0, r_0, y_1, r_1] (pooled, per half) -> one fusion
        # weight map per half
        self.fuse_conv = nn.Conv2d(4, 2, kernel_size=3, padding=1, groups=2)

    def gate_logits(self, features: Tensor, num_clips: int) -> Tensor:
        """``self.gate_conv`` on ``(N * T, gated, H, W)`` frames, as
        ``(N, T, 2, H, W)``.

        Same result as ``gate_conv`` on ``(N, gated, T, H, W)`` clips, computed
        as one batched matmul giving each of the 27 taps' channel sums,
        ``fold`` adding up the 3x3 spatial taps and two shifted slices the
        temporal ones: on CPU a 3-D (or 2-D) conv with 2 output channels runs
        several times slower than that.
        """
        frames, g, h, w = features.shape
        t = frames // num_clips
        # (2, 27, g/2): per group, tap (dt, dy, dx) x input channel; fold adds
        # its taps mirrored in space
        weight = self.gate_conv.weight.flip(-2, -1).flatten(2).transpose(1, 2)
        # (N * T, 2, 27, H * W)
        taps = torch.matmul(weight, features.view(frames, 2, g // 2, h * w))
        spatial = F.fold(
            taps.view(frames, 54, h * w), (h, w), 3,
            padding=1).view(num_clips, t, 2, 3, h, w)
        logits = spatial[:, :, :, 1] + self.gate_conv.bias.view(1, 1, 2, 1, 1)
        # frame t's tap 0 reads frame t - 1
        previous = F.pad(spatial[:, :-1, :, 0], (0, 0, 0, 0, 0, 0, 1, 0))
        following = F.pad(spatial[:, 1:, :, 2], (0, 0, 0, 0, 0, 0, 0, 1))
        return logits + previous + following

    def forward(self, x: Tensor) -> Tensor:
        if self.num_segments == 1:
            return x
        n = self.clip_view(x).shape[0]
        t, g, (c, h, w) = self.num_segments, self.gated_channels, x.shape[1:]
        # one split: slicing x twice would cost two full-size gradients
        group, rest = x.split((g, c - g), dim=1)
        # read by every step below; contiguous operands are much faster on CPU
        group = group.contiguous()
        # (N, T, 2, H, W)
        gate = torch.tanh(
            self.gate_logits(torch.relu(self.gate_norm(group)), n))
        group = group.view(n, t, 2, g // 2, h, w)
        gated = group * gate.unsqueeze(3)
        residual = group - gated
        shifted = temporal_shift(gated.view(n, t, g, h, w),
                                 g // 2).view(n, t, 2, g // 2, h, w)

        # spatial means as sum / (H * W): the gradient of a sum is a broadcast
        # view, that of a mean a full tensor
        # (N, T, 2, 2, g/2)
        pooled = torch.stack(
            (shifted.sum((-2, -1)), residual.sum((-2, -1))), dim=3) / (
                h * w)
        pooled = pooled.permute(0, 2, 3, 4, 1).reshape(n, 4, g // 2, t)
        weight = torch.sigmoid(self.fuse_conv(pooled))  # (N, 2, g/2, T)
        weight = weight.permute(0, 3, 1, 2).reshape(n, t, 2, g // 2, 1, 1)
        # under autocast the conv's weight is in the lower precision, the
        # features not: lerp takes one dtype
        fused = torch.lerp(residual, shifted, weight.to(residual.dtype))
        return torch.cat((fused.view(n * t, g, h, w), rest), dim=1)

    def extra_repr(self) -> str:
        return (f'channels={self.channels}, '
                f'num_segments={self.num_segments}, '
                f'gated_channels={self.gated_channels}')
