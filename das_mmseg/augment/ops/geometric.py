"""The geometric ops: camera motions and shears as affine matrices (source
pixel → output pixel, centred pixel units, y pointing down)."""
import math

import torch
from torch import Tensor

from .base import AUGMENT_OPS, GeometricOp


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
