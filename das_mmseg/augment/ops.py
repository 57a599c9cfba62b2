"""The frame-wise augmentation ops, registered by name.

An op maps a per-step *magnitude* and a frame's distance ``d`` from the
reference frame to that frame's *value* (``magnitude * d``, or
``magnitude ** d`` for multiplicative ops such as zoom), and applies a batch of
values:

- a :class:`GeometricOp` gives a forward affine matrix (source pixel → output
  pixel, in pixel units centred on the image centre, y pointing down);
  geometric ops compose by matrix product, so any chain of them is one warp;
- a :class:`PhotometricOp` maps pixel-scale images (``[0, max_value]``) to
  pixel-scale images.

Add an op without touching this library::

    from das_mmseg.augment import AUGMENT_OPS, PhotometricOp

    @AUGMENT_OPS.register_module(name='invert_blend')
    class InvertBlend(PhotometricOp):
        bounds = (0.0, 0.25)
        init_range = (0.0, 0.1)

        def apply(self, images, values, space):
            alpha = values.clamp(0, 1).view(-1, 1, 1, 1)
            return images + alpha * (space.max_value - 2 * images)

Every value is a tensor so that magnitudes can be learned: continuous ops are
differentiable in the image and the magnitude; discrete ones
(solarize, posterize) pass the image gradient straight through and give the
magnitude none.
"""
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
from mmengine.registry import Registry
from torch import Tensor

AUGMENT_OPS = Registry('augment op')


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
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{where}: image {name} must be an integer >= '
                             f'1, got {value!r} (image size '
                             f'{(height, width)!r})')


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


GEOMETRIC = 'geometric'
PHOTOMETRIC = 'photometric'


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
        if self.channel_order not in ('rgb', 'bgr'):
            raise ValueError(
                'channel_order must be one of (\'rgb\', \'bgr\'), got '
                f'{self.channel_order!r}')
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


class AugmentOp:
    """Base of every op.

    Attributes:
        kind (str): ``'geometric'`` or ``'photometric'``.
        bounds (tuple): Valid per-step magnitudes; learned magnitudes stay
            inside.
        init_range (tuple): Where magnitudes are initialised or sampled
            (the paper's ranges).
        multiplicative (bool): Frame value ``magnitude ** d`` (identity 1)
            instead of ``magnitude * d`` (identity 0).
        continuous (bool): Whether the magnitude gets a gradient.
        symmetric_only (bool): The value depends on ``|d|`` even under the
            signed progression.
    """
    kind: str = PHOTOMETRIC
    bounds: Tuple[float, float] = (0.0, 0.0)
    init_range: Tuple[float, float] = (0.0, 0.0)
    multiplicative: bool = False
    continuous: bool = True
    symmetric_only: bool = False

    @property
    def has_magnitude(self) -> bool:
        return self.bounds[0] != self.bounds[1]

    @property
    def identity_magnitude(self) -> float:
        return 1.0 if self.multiplicative else 0.0

    def frame_values(self, magnitude: Tensor, distances: Tensor) -> Tensor:
        """Per-frame values of per-step magnitudes.

        Args:
            magnitude (Tensor): (...) magnitudes per step, e.g. 0-dim for one
                op or (E,) for the op on every edge.
            distances (Tensor): (T',) signed distances from the reference frame
                (already made ``|d|`` by the symmetric progression).

        Returns:
            Tensor: (..., T') values; the identity value where the distance is
            0.
        """
        d = distances.abs() if self.symmetric_only else distances
        d = d.to(magnitude.dtype)
        m = magnitude.unsqueeze(-1)
        if self.multiplicative:
            return m**d  # zoom compounds: factor ** d
        return m * d

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


class GeometricOp(AugmentOp):
    """An op that moves pixels: one affine matrix per value."""
    kind = GEOMETRIC

    def matrix(self, values: Tensor, height: int, width: int) -> Tensor:
        """(B,) values → (B, 3, 3) forward matrices in centred pixel
        coordinates (source → output)."""
        raise NotImplementedError


class PhotometricOp(AugmentOp):
    """An op that changes pixel values in place."""
    kind = PHOTOMETRIC

    def apply(self, images: Tensor, values: Tensor,
              space: PixelSpace) -> Tensor:
        """(B, C, H, W) pixel-scale images and (B,) values → (B, C, H, W)
        pixel-scale images."""
        raise NotImplementedError


def _affine(a: Tensor, b: Tensor, c: Tensor, d: Tensor, tx: Tensor,
            ty: Tensor) -> Tensor:
    """Stack (B,) entries into (B, 3, 3) matrices [[a, b, tx], [c, d, ty],
    [0, 0, 1]]."""
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    return torch.stack([a, b, tx, c, d, ty, zero, zero, one],
                       dim=-1).view(*a.shape, 3, 3)


@AUGMENT_OPS.register_module(name='identity')
class Identity(GeometricOp):
    """The frame as it is (a DARTS skip connection)."""

    def matrix(self, values: Tensor, height: int, width: int) -> Tensor:
        return torch.eye(
            3, dtype=values.dtype,
            device=values.device).expand(*values.shape, 3, 3)


@AUGMENT_OPS.register_module(name='shift_x')
class ShiftX(GeometricOp):
    """Horizontal camera pan: content moves right by ``value * width``
    pixels."""
    bounds = (-0.25, 0.25)
    init_range = (-0.12, 0.12)

    def matrix(self, values: Tensor, height: int, width: int) -> Tensor:
        one, zero = torch.ones_like(values), torch.zeros_like(values)
        return _affine(one, zero, zero, one, values * width, zero)


@AUGMENT_OPS.register_module(name='shift_y')
class ShiftY(GeometricOp):
    """Vertical camera pan: content moves down by ``value * height`` pixels."""
    bounds = (-0.25, 0.25)
    init_range = (-0.12, 0.12)

    def matrix(self, values: Tensor, height: int, width: int) -> Tensor:
        one, zero = torch.ones_like(values), torch.zeros_like(values)
        return _affine(one, zero, zero, one, zero, values * height)


@AUGMENT_OPS.register_module(name='zoom')
class Zoom(GeometricOp):
    """Dolly: content scaled by ``value`` about the centre (> 1 zooms in);
    compounds as ``factor ** d``."""
    bounds = (0.5, 1.5)
    init_range = (0.7, 1.3)
    multiplicative = True

    def matrix(self, values: Tensor, height: int, width: int) -> Tensor:
        zero = torch.zeros_like(values)
        return _affine(values, zero, zero, values, zero, zero)


@AUGMENT_OPS.register_module(name='rotate')
class Rotate(GeometricOp):
    """Roll: content rotated counter-clockwise on screen by ``value`` degrees
    about the centre."""
    bounds = (-45.0, 45.0)
    init_range = (-20.0, 20.0)

    def matrix(self, values: Tensor, height: int, width: int) -> Tensor:
        rad = values * (math.pi / 180)
        cos, sin, zero = rad.cos(), rad.sin(), torch.zeros_like(values)
        # y points down: counter-clockwise on screen
        return _affine(cos, sin, -sin, cos, zero, zero)


@AUGMENT_OPS.register_module(name='shear_x')
class ShearX(GeometricOp):
    """Horizontal shear about the centre: ``x' = x + value * y``."""
    bounds = (-0.3, 0.3)
    init_range = (-0.1, 0.1)

    def matrix(self, values: Tensor, height: int, width: int) -> Tensor:
        one, zero = torch.ones_like(values), torch.zeros_like(values)
        return _affine(one, values, zero, one, zero, zero)


@AUGMENT_OPS.register_module(name='shear_y')
class ShearY(GeometricOp):
    """Vertical shear about the centre: ``y' = y + value * x``."""
    bounds = (-0.3, 0.3)
    init_range = (-0.1, 0.1)

    def matrix(self, values: Tensor, height: int, width: int) -> Tensor:
        one, zero = torch.ones_like(values), torch.zeros_like(values)
        return _affine(one, zero, values, one, zero, zero)


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


def build_op(name: str) -> AugmentOp:
    """The registered op called ``name``; a clear error naming the registered
    ones otherwise."""
    cls = AUGMENT_OPS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise KeyError(f'unknown augmentation op {name!r}; registered ops: '
                       f'{sorted(AUGMENT_OPS.module_dict)}')
    return cls()


def build_ops(names: Sequence[str]) -> Tuple[AugmentOp, ...]:
    """Ops for ``names``, which must be distinct."""
    names = tuple(names)
    if len(set(names)) != len(names) or not names:
        raise ValueError(
            'the op set must be a non-empty list of distinct op names, got '
            f'{list(names)}')
    return tuple(build_op(n) for n in names)
