"""The op library: the ops' contract and registry (``base``), and the
registered geometric and photometric ops, all registered once this package
is imported."""
from .base import (AUGMENT_OPS, AugmentOp, GeometricOp, PhotometricOp,
                   build_op, build_ops)
from .geometric import Identity, Rotate, ShearX, ShearY, ShiftX, ShiftY, Zoom
from .photometric import (Brightness, Contrast, EnhanceOp, Posterize,
                          Saturation, Sharpness, Solarize, straight_through)

__all__ = [
    'AUGMENT_OPS', 'AugmentOp', 'GeometricOp', 'PhotometricOp', 'build_op',
    'build_ops', 'Identity', 'Rotate', 'ShearX', 'ShearY', 'ShiftX', 'ShiftY',
    'Zoom', 'Brightness', 'Contrast', 'EnhanceOp', 'Posterize', 'Saturation',
    'Sharpness', 'Solarize', 'straight_through'
]
