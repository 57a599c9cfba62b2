"""Writing pictures."""
import numpy as np


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 RGB picture."""
    import cv2
    if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError('encode_png: expected an (H, W, 3) uint8 RGB '
                         f'picture, got {rgb.shape} {rgb.dtype}')
    _, encoded = cv2.imencode('.png', np.ascontiguousarray(rgb[..., ::-1]))
    return encoded.tobytes()
