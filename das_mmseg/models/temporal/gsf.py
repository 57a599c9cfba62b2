"""Gate-Shift-Fuse (Sudhakaran, Escalera, Lanz, "Gate-Shift-Fuse for Video Action Recognition", TPAMI 2023)."""
from typing import Optional

import torch
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from .base import TemporalModule, register_in_mmseg_and_mmpretrain
from .tsm import temporal_shift


@register_in_mmseg_and_mmpretrain('GSF')
class GateShiftFuse(TemporalModule):
    """GSF: gate a group of channels spatially, shift the gated part across frames, fuse it back with the rest.

    Registered as ``GSF``. On the first ``gated = channels * gate_ratio`` channels (rounded down to even), split in
    two halves:

    1. gate: ``tanh(conv3d(relu(norm(x))))``, a 3x3x3 conv with 2 groups giving one spatio-temporal gate per half;
    2. shift: the gated part ``y = gate * x`` of the first half moves one frame back, of the second half one frame
       forward (zero-padded at the clip ends); the ungated residual ``r = x - y`` stays;
    3. fuse: per channel and frame, ``w = sigmoid(conv2d([pool(y_shifted), pool(r)]))`` (a 3x3 conv over
       channels x frames, one per half) and the output is ``w * y_shifted + (1 - w) * r``.

    The other channels pass through. Inserted by default after a residual branch's last conv, before its norm.
    The original's final channel interleave is left out: it would permute channels, so a pretrained 2-D backbone's
    weights would no longer fit.

    Args:
        channels (int): Channels of the input.
        num_segments (int): Frames per clip, T.
        gate_ratio (float): Fraction of the channels that are gated and shifted, in (0, 1]. Default 0.25.
        norm_cfg (dict): Norm before the gate conv, on ``(N, gated, T, H, W)``. Default ``dict(type='BN3d')``.
        init_cfg (dict | list[dict], optional): Initialisation config.

    Shape:
        ``(N * T, C, H, W)`` -> ``(N * T, C, H, W)``.
    """

    default_position = 'output'

    def __init__(self, channels: int, num_segments: int = 8, gate_ratio: float = 0.25,
                 norm_cfg: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(num_segments, init_cfg)
        if not 0 < gate_ratio <= 1:
            raise ValueError(f'gate_ratio must be in (0, 1], got {gate_ratio}')
        gated = int(channels * gate_ratio) // 2 * 2
        if gated < 2:
            raise ValueError(f'GSF: gate_ratio={gate_ratio} of channels={channels} gates fewer than 2 channels')
        self.channels = channels
        self.gate_ratio = gate_ratio
        self.gated_channels = gated
        self.gate_norm = build_norm_layer(norm_cfg or dict(type='BN3d'), gated)[1]
        self.gate_conv = nn.Conv3d(gated, 2, kernel_size=3, padding=1, groups=2)
        # input channels [y_0, r_0, y_1, r_1] (pooled, per half) -> one fusion weight map per half
        self.fuse_conv = nn.Conv2d(4, 2, kernel_size=3, padding=1, groups=2)

    def forward(self, x: Tensor) -> Tensor:
        if self.num_segments == 1:
            return x
        clips = self.clip_view(x)  # (N, T, C, H, W)
        n, t, _, h, w = clips.shape
        g = self.gated_channels
        group = clips[:, :, :g]
        gate_in = torch.relu(self.gate_norm(group.transpose(1, 2)))  # (N, g, T, H, W)
        gate = torch.tanh(self.gate_conv(gate_in)).transpose(1, 2)  # (N, T, 2, H, W)
        group = group.reshape(n, t, 2, g // 2, h, w)
        gated = group * gate.unsqueeze(3)
        residual = group - gated
        shifted = temporal_shift(gated.view(n, t, g, h, w), g // 2).view(n, t, 2, g // 2, h, w)

        pooled = torch.stack((shifted.mean((-2, -1)), residual.mean((-2, -1))), dim=3)  # (N, T, 2, 2, g/2)
        pooled = pooled.permute(0, 2, 3, 4, 1).reshape(n, 4, g // 2, t)
        weight = torch.sigmoid(self.fuse_conv(pooled))  # (N, 2, g/2, T)
        weight = weight.permute(0, 3, 1, 2).reshape(n, t, 2, g // 2, 1, 1)
        fused = residual + weight * (shifted - residual)
        return torch.cat((fused.view(n, t, g, h, w), clips[:, :, g:]), dim=2).view_as(x)

    def extra_repr(self) -> str:
        return f'channels={self.channels}, num_segments={self.num_segments}, gated_channels={self.gated_channels}'
