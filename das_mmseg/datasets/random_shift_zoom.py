"""``RandomShiftZoom``: a random pan and zoom of an image and its label map,
the image-level counterpart of the clip cell's ``shift_x``, ``shift_y`` and
``zoom`` ops (for an image baseline with augmentation of the same kind).

mmseg has ``RandomRotate`` but no translation and no size-preserving zoom
about the centre (``RandomResize`` changes the image size; with
``RandomCrop`` after it, it zooms *and* re-crops); this step fills that gap.
"""
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ..utils.validators import check_range


def warp_affine(results: dict, matrix: np.ndarray, pad_val: float,
                seg_pad_val: int) -> dict:
    """Move ``results['img']`` (bilinear) and every map of ``seg_fields``
    (nearest) by the (2, 3) forward matrix (source pixel -> output pixel),
    keeping their size; ``pad_val`` / ``seg_pad_val`` where the source
    ends."""
    height, width = results['img'].shape[:2]
    size = (width, height)
    results['img'] = cv2.warpAffine(
        results['img'],
        matrix,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        # a scalar would pad only the first channel
        borderValue=(pad_val, ) * 4)
    for key in results.get('seg_fields', []):
        results[key] = cv2.warpAffine(
            results[key],
            matrix,
            size,
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=seg_pad_val)
    return results


@TRANSFORMS.register_module()
class RandomShiftZoom(BaseTransform):
    """Zoom about the image centre, then shift, with values drawn uniformly
    per image (numpy's global generator, seeded per worker by the runner).

    As the clip cell's ops: a zoom factor ``z > 1`` zooms in; the content
    moves right by ``sx * width`` and down by ``sy * height`` pixels; the
    output keeps the input's size; what comes from outside the image is
    ``pad_val`` in the image and ``seg_pad_val`` (ignored) in the label
    maps.

    Required keys: ``img``. Modified keys: ``img``, every key of
    ``seg_fields`` (nearest-neighbour).

    Args:
        prob (float): Probability of transforming an image.
        shift (tuple[float, float]): Range of ``sx`` and of ``sy``, fractions
            of the side (the cell's ``shift_x``/``shift_y`` per step:
            (-0.12, 0.12)).
        zoom (tuple[float, float]): Range of ``z`` (the cell's ``zoom`` per
            step: (0.7, 1.3)).
        pad_val (float): Image value outside the source.
        seg_pad_val (int): Label value outside the source.
    """

    def __init__(self,
                 prob: float = 1.0,
                 shift: Sequence[float] = (-0.12, 0.12),
                 zoom: Sequence[float] = (0.7, 1.3),
                 pad_val: float = 0,
                 seg_pad_val: int = 255) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(
                f'RandomShiftZoom: prob must be in [0, 1], got {prob!r}')
        self.prob = prob
        self.shift = check_range('RandomShiftZoom: shift', shift, -1.0)
        self.zoom = check_range('RandomShiftZoom: zoom', zoom, 1e-3)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    @staticmethod
    def matrix(height: int, width: int, zoom: float, shift_x: float,
               shift_y: float) -> np.ndarray:
        """(2, 3) forward matrix (source pixel -> output pixel) of a zoom by
        ``zoom`` about the centre followed by a shift of ``(shift_x * width,
        shift_y * height)`` pixels."""
        cx, cy = (width - 1) / 2, (height - 1) / 2
        return np.array([[zoom, 0, (1 - zoom) * cx + shift_x * width],
                         [0, zoom, (1 - zoom) * cy + shift_y * height]],
                        dtype=np.float64)

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        zoom = np.random.uniform(*self.zoom)
        shift_x, shift_y = np.random.uniform(*self.shift, size=2)
        height, width = results['img'].shape[:2]
        matrix = self.matrix(height, width, zoom, shift_x, shift_y)
        return warp_affine(results, matrix, self.pad_val, self.seg_pad_val)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'shift={self.shift}, zoom={self.zoom}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')
