"""``TrivialGeometricAugment``: one geometric op of the clip cell's space per
image, at a random strength, TrivialAugment-style (Müller & Hutter, ICCV
2021), with the label map warped alike: the image baseline a practitioner
would pick to compare with DAS's clip.
"""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ..augment.ops import GeometricOp, build_ops
from .random_shift_zoom import warp_affine


@TRANSFORMS.register_module()
class TrivialGeometricAugment(BaseTransform):
    """Per image: an op drawn uniformly from ``ops``, a strength
    ``s ~ U(0, 1)`` and an end of the op's range drawn uniformly; the op's
    value goes ``s`` of the way from its identity to that end (shift ±0.12 of
    the side, zoom 0.7-1.3, rotate ±20°: the cell's per-step ranges,
    ``AugmentOp.init_range``), and the image and its label maps move as the
    cell's op moves a frame (``op.matrix``, about the image centre).

    Draws from numpy's global generator (seeded per worker by the runner),
    as mmseg's random transforms.

    Required keys: ``img``. Modified keys: ``img`` (bilinear), every key of
    ``seg_fields`` (nearest-neighbour).

    Args:
        ops (sequence of str): Geometric ops of the cell's library.
        pad_val (float): Image value outside the source.
        seg_pad_val (int): Label value outside the source (ignored).
    """

    def __init__(self,
                 ops: Sequence[str] = ('shift_x', 'shift_y', 'zoom', 'rotate'),
                 pad_val: float = 0,
                 seg_pad_val: int = 255) -> None:
        if isinstance(ops, str) or not ops:
            raise ValueError('TrivialGeometricAugment: ops must be a '
                             f'non-empty list of op names, got {ops!r}')
        self.op_names = tuple(ops)
        self.ops = build_ops(self.op_names)
        for name, op in zip(self.op_names, self.ops):
            if not isinstance(op, GeometricOp) or not op.has_magnitude:
                raise ValueError(
                    f'TrivialGeometricAugment: {name!r} is not a geometric op '
                    'with a magnitude; use ops such as shift_x, shift_y, '
                    'zoom, rotate')
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def value(self, op_index: int, strength: float, upper: bool) -> float:
        """The op's value ``strength`` of the way from its identity to the
        upper (or lower) end of its range."""
        op = self.ops[op_index]
        end = op.init_range[1] if upper else op.init_range[0]
        return op.identity_magnitude + strength * (end - op.identity_magnitude)

    def matrix(self, op_index: int, value: float, height: int,
               width: int) -> np.ndarray:
        """(2, 3) forward matrix in pixel coordinates (source -> output) of
        the op at ``value`` about the image centre."""
        centred = self.ops[op_index].matrix(
            torch.tensor([value], dtype=torch.float64), height,
            width)[0].numpy()
        cx, cy = (width - 1) / 2, (height - 1) / 2
        to_centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
        back = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
        return (back @ centred @ to_centre)[:2]

    def transform(self, results: dict) -> dict:
        op_index = int(np.random.randint(len(self.ops)))
        strength = float(np.random.uniform(0, 1))
        upper = bool(np.random.rand() < 0.5)
        value = self.value(op_index, strength, upper)
        height, width = results['img'].shape[:2]
        matrix = self.matrix(op_index, value, height, width)
        warp_affine(results, matrix, self.pad_val, self.seg_pad_val)
        results['trivial_geometric'] = (self.op_names[op_index], value)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(ops={self.op_names}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')
