"""The frame-wise augmentation ops' contract, their registry and how they
are built by name.

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
from typing import Sequence, Tuple

from mmengine.registry import Registry
from torch import Tensor

from ..pixel_space import PixelSpace

AUGMENT_OPS = Registry('augment op')

GEOMETRIC = 'geometric'
PHOTOMETRIC = 'photometric'


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
