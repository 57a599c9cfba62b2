"""The photometric ops: PIL-style enhancements on pixel-scale images, and the
discrete solarize and posterize, whose image gradient passes straight
through."""
import torch
from torch import Tensor

from ..pixel_space import PixelSpace
from .base import AUGMENT_OPS, PhotometricOp


class EnhanceOp(PhotometricOp):
    """PIL ``ImageEnhance``-style blend
    ``degenerate + factor * (image - degenerate)``, factor ``1 + value``.

    The per-step magnitude is the change of the factor per frame; the factor is
    kept >= 0.
    """
    bounds = (-0.25, 0.25)
    init_range = (-0.1, 0.1)

    def degenerate(self, images: Tensor, space: PixelSpace) -> Tensor:
        raise NotImplementedError

    def apply(self, images: Tensor, values: Tensor,
              space: PixelSpace) -> Tensor:
        factor = (1 + values).clamp(min=0).view(-1, 1, 1, 1).to(images.dtype)
        base = self.degenerate(images, space)
        return (base + factor * (images - base)).clamp(0, space.max_value)


@AUGMENT_OPS.register_module(name='brightness')
class Brightness(EnhanceOp):
    """Blend with black."""

    def degenerate(self, images: Tensor, space: PixelSpace) -> Tensor:
        return torch.zeros_like(images)


@AUGMENT_OPS.register_module(name='contrast')
class Contrast(EnhanceOp):
    """Blend with the mean grey level of the image."""

    def degenerate(self, images: Tensor, space: PixelSpace) -> Tensor:
        return space.luminance(images).mean(
            dim=(1, 2, 3), keepdim=True).expand_as(images)


@AUGMENT_OPS.register_module(name='saturation')
class Saturation(EnhanceOp):
    """Blend with the grey-level image."""

    def degenerate(self, images: Tensor, space: PixelSpace) -> Tensor:
        return space.luminance(images).expand_as(images)


@AUGMENT_OPS.register_module(name='sharpness')
class Sharpness(EnhanceOp):
    """Blend with PIL's SMOOTH-filtered image (3x3 kernel, centre 5, others 1,
    /13); the border stays as is."""

    def degenerate(self, images: Tensor, space: PixelSpace) -> Tensor:
        channels = images.shape[1]
        kernel = torch.ones(3, 3, dtype=images.dtype, device=images.device)
        kernel[1, 1] = 5
        kernel = (kernel / 13).expand(channels, 1, 3, 3)
        smooth = torch.nn.functional.conv2d(images, kernel, groups=channels)
        return torch.nn.functional.pad(
            smooth, (1, 1, 1, 1)) + _border_mask(images) * images


def _border_mask(images: Tensor) -> Tensor:
    mask = torch.ones_like(images[:1, :1])
    mask[..., 1:-1, 1:-1] = 0
    return mask


def straight_through(images: Tensor, result: Tensor) -> Tensor:
    """``result`` in the forward pass, the identity's gradient in the backward
    pass."""
    return images + (result - images).detach()


@AUGMENT_OPS.register_module(name='solarize')
class Solarize(PhotometricOp):
    """Invert pixels above ``max_value * (1 - value)``; the threshold falls by
    ``magnitude`` per step."""
    bounds = (0.0, 0.25)
    init_range = (0.0, 0.1)
    continuous = False
    symmetric_only = True

    def apply(self, images: Tensor, values: Tensor,
              space: PixelSpace) -> Tensor:
        threshold = (space.max_value * (1 - values)).view(-1, 1, 1, 1)
        threshold = threshold.to(images.dtype)
        # value 0 must leave the image as it is, max_value included
        inverted = torch.where(
            (images >= threshold) & (threshold < space.max_value),
            space.max_value - images, images)
        return straight_through(images, inverted)


@AUGMENT_OPS.register_module(name='posterize')
class Posterize(PhotometricOp):
    """Keep ``round(8 - value)`` bits (at least 1) of 8-bit pixel levels;
    ``magnitude`` bits fewer per step."""
    bounds = (0.0, 1.75)
    init_range = (0.0, 1.0)
    continuous = False
    symmetric_only = True

    def apply(self, images: Tensor, values: Tensor,
              space: PixelSpace) -> Tensor:
        bits = (8 - values.detach()).round().clamp(1, 8).view(-1, 1, 1, 1)
        step = 2**(8 - bits).to(images.dtype)
        levels = images * (255.0 / space.max_value)
        quantised = torch.floor(levels.round() / step) * step * (
            space.max_value / 255.0)
        return straight_through(images, quantised)
