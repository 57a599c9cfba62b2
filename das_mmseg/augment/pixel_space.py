"""How the images the ops see relate to pixel values: normalisation, the white
level, the channel order."""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..utils.validators import check_choice

CHANNEL_ORDERS = ('rgb', 'bgr')


@dataclass(frozen=True)
class PixelSpace:
    """How the images an op sees relate to pixel values.

    Args:
        mean (sequence of float, optional): Per-channel mean subtracted by
            normalisation (None: not normalised).
        std (sequence of float, optional): Per-channel std divided by
            normalisation (None: not normalised).
        max_value (float): The white level of un-normalised images.
        channel_order (str): ``'rgb'`` or ``'bgr'``; luminance weights follow
            it.
    """
    mean: Optional[Tuple[float, ...]] = None
    std: Optional[Tuple[float, ...]] = None
    max_value: float = 255.0
    channel_order: str = 'rgb'

    def __post_init__(self) -> None:
        check_choice('channel_order', self.channel_order, CHANNEL_ORDERS)
        if (self.mean is None) != (self.std is None):
            raise ValueError('give both mean and std, or neither')

    def _stats(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        shape = (1, -1, 1, 1)
        mean = torch.as_tensor(
            self.mean, dtype=images.dtype, device=images.device).view(shape)
        std = torch.as_tensor(
            self.std, dtype=images.dtype, device=images.device).view(shape)
        return mean, std

    def to_pixels(self, images: Tensor) -> Tensor:
        """(B, C, H, W) images in this space → pixel values (black = 0)."""
        if self.mean is None:
            return images
        mean, std = self._stats(images)
        return images * std + mean

    def from_pixels(self, images: Tensor) -> Tensor:
        """(B, C, H, W) pixel values → images in this space."""
        if self.mean is None:
            return images
        mean, std = self._stats(images)
        return (images - mean) / std

    def luminance(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) pixel values → (B, 1, H, W) ITU-R 601 luma, as PIL's
        ``convert('L')``."""
        weights = ((0.299, 0.587, 0.114) if self.channel_order == 'rgb' else
                   (0.114, 0.587, 0.299))
        if images.shape[1] != 3:
            return images.mean(dim=1, keepdim=True)
        w = torch.as_tensor(
            weights, dtype=images.dtype,
            device=images.device).view(1, 3, 1, 1)
        return (images * w).sum(dim=1, keepdim=True)
