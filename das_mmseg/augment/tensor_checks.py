"""Checks of the tensors the renderers take: their shape and dtype, never
their values on a device (reading those would stall the device queue)."""
from typing import Optional

import torch
from torch import Tensor

from ..utils.validators import check_int


def check_images(images, where: str, channels: Optional[int] = None) -> None:
    """Raise a clear error unless ``images`` is a (N, C, H, W) floating-point
    tensor with no empty dimension (and ``channels`` channels, when given).

    Only the shape and dtype are checked, never the values: that would stall a
    device queue.

    Args:
        images: What was passed.
        where (str): Who received it, for the message (e.g.
            ``'ClipCell.forward'``).
        channels (int, optional): The expected C.
    """
    if not torch.is_tensor(images):
        raise TypeError(f'{where}: images must be a (N, C, H, W) tensor, got '
                        f'{type(images).__name__}')
    if images.dim() != 4:
        raise ValueError(f'{where}: images must be 4-D (N, C, H, W), got '
                         f'shape {tuple(images.shape)}')
    if not images.is_floating_point():
        raise TypeError(
            f'{where}: images must be floating point (float32, float16, '
            f'bfloat16, float64), got {images.dtype}; convert them with '
            '.float() (pixel values or normalised, as the cell\'s mean/std '
            'say)')
    if min(images.shape) < 1:
        raise ValueError(
            f'{where}: images of shape {tuple(images.shape)} (N, C, H, W) '
            'have an empty dimension; every one must be >= 1')
    if channels is not None and images.shape[1] != channels:
        raise ValueError(
            f'{where}: images have {images.shape[1]} channels, expected '
            f'{channels} (the length of mean/std)')


def check_image_size(height, width, where: str) -> None:
    """Raise a clear error unless (height, width) are integers >= 1."""
    for name, value in (('height', height), ('width', width)):
        check_int(f'{where}: image {name}', value, 1)


def check_finite_magnitudes(magnitudes: Tensor, where: str) -> None:
    """Raise a clear error when CPU ``magnitudes`` hold NaN or infinity.

    Device tensors are not read here (that would stall the device queue):
    magnitudes are checked where they enter the cell (config, checkpoint,
    policy), and a learned magnitude is a bounded sigmoid.
    """
    if not torch.is_tensor(magnitudes) or not magnitudes.is_floating_point():
        raise TypeError(f'{where}: magnitudes must be a floating-point '
                        f'tensor, got {magnitudes!r}')
    if magnitudes.device.type == 'cpu' and not bool(
            torch.isfinite(magnitudes).all()):
        bad = [
            tuple(i) for i in (~torch.isfinite(magnitudes)).nonzero().tolist()
        ]
        raise ValueError(
            f'{where}: magnitudes must be finite, got non-finite values at '
            f'indices {bad[:8]} (of shape {tuple(magnitudes.shape)})')
