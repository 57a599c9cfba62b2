"""Temporal modules: mix features across the frames of a clip, flattened
frame-major to ``(N * T, C, H, W)``."""
from .base import TemporalModule
from .gsf import GateShiftFuse
from .tsm import TemporalShift, temporal_shift

__all__ = [
    'TemporalModule', 'TemporalShift', 'GateShiftFuse', 'temporal_shift'
]
