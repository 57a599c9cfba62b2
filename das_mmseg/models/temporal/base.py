"""What every temporal module shares: the clip layout it reads."""
from mmengine.model import BaseModule
from torch import Tensor

from ...utils.validators import check_int


def check_num_segments(value: int) -> int:
    """Frames per clip must be a positive int (not a bool); return it."""
    return check_int('num_segments', value, 1, kind='an int')


class TemporalModule(BaseModule):
    """Base of the modules that mix features across the frames of clips.

    A batch of clips is flattened frame-major, ``(N * T, C, H, W)`` with row
    ``n * T + t`` = frame ``t`` of clip ``n``; ``num_segments`` is T, set
    when the module is built (a video backbone passes its own, which a clip
    model fills in). With T = 1 there is no neighbouring frame and a temporal
    module returns its input object unchanged, so the network is exactly 2-D.

    Args:
        num_segments (int): Frames per clip, T.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    # : Where a backbone inserts the module in a block by default: ``'input'``
    # of the residual branch's first conv : or ``'output'`` of its last conv
    # (before that conv's norm).
    default_position = 'output'

    def __init__(self, num_segments: int = 8, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.num_segments = num_segments

    @property
    def num_segments(self) -> int:
        return self._num_segments

    @num_segments.setter
    def num_segments(self, value: int) -> None:
        self._num_segments = check_num_segments(value)

    def clip_view(self, x: Tensor) -> Tensor:
        """``(N * T, C, H, W)`` -> ``(N, T, C, H, W)`` view, with a clear error
        when N * T is not a multiple of T."""
        if x.dim() != 4:
            raise ValueError(
                f'{type(self).__name__} expects (N*T, C, H, W) features, got '
                f'shape {tuple(x.shape)}')
        frames = x.shape[0]
        if frames % self.num_segments:
            raise ValueError(
                f'{type(self).__name__}: batch of {frames} frames is not a '
                'whole number of clips '
                f'of num_segments={self.num_segments} frames')
        return x.view(frames // self.num_segments, self.num_segments,
                      *x.shape[1:])

    def extra_repr(self) -> str:
        return f'num_segments={self.num_segments}'
