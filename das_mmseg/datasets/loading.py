"""Image inputs checked before any transform touches them.

Bad images otherwise fail deep inside OpenCV or mmcv without naming their
file (``cv2.error: !buf.empty()`` for a 0-byte file, ``ZeroDivisionError``
in ``Resize`` for a 0x0 array), or not at all (an all-NaN array segments
into class 0 everywhere), and a small file whose header declares a huge
image is decoded into tens of gigabytes before anything can refuse it.

- :func:`check_image_array`: rank, size, channels, dtype and finiteness of an
  image array, with the fix in the message.
- :func:`declared_image_size`: the size a file's header declares, read
  before decoding; :func:`max_image_pixels` the limit it is held to
  (``DAS_MMSEG_MAX_IMAGE_PIXELS``, default :data:`DEFAULT_MAX_IMAGE_PIXELS`).
- :class:`LoadCheckedImage`: mmcv's ``LoadImageFromFile`` with all of that,
  for files and arrays alike; the training pipelines of the shipped configs
  and every inference entry point (``das_mmseg.apis``, ``DASInferencer``,
  ``demo/image_demo.py``, the visualization tools) load images through it.
"""
import io
import os
import re
import struct
import warnings
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmseg.registry import TRANSFORMS

from .checks.image_files import (DECODER_DAMAGE, captured_native_stderr,
                                 missing_end_marker)
from .checks.problems import DataCheckError

#: The pixel count (height x width) an image may have by default: 2^27, a
#: 16384 x 8192 panorama; decoded and turned into a clip an image costs about
#: 60 bytes per pixel at inference, so the default stays below ~8 GB.
DEFAULT_MAX_IMAGE_PIXELS = 2**27
MAX_PIXELS_ENV = 'DAS_MMSEG_MAX_IMAGE_PIXELS'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


class ImageInputError(DataCheckError):
    """An image (file or array) the model cannot take; the message names it
    and says what to do."""


def max_image_pixels() -> int:
    """The pixel-count limit: ``$DAS_MMSEG_MAX_IMAGE_PIXELS`` when set (0
    turns the limit off), else :data:`DEFAULT_MAX_IMAGE_PIXELS`."""
    value = os.environ.get(MAX_PIXELS_ENV)
    if value is None or value == '':
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise ImageInputError(
            f'{MAX_PIXELS_ENV}={value!r} is not a pixel count: give a whole '
            'number >= 0 (0 = no limit), e.g. 200000000')
    return limit


def _over_limit(source: str, height: int, width: int,
                limit: int) -> Optional[str]:
    if limit and height * width > limit:
        return (
            f'{source}: {height}x{width} (HxW) is {height * width} '
            f'pixels, more than the limit of {limit}; downscale the image, '
            f'or raise the limit (LoadCheckedImage(max_pixels=...), or '
            f'the environment variable {MAX_PIXELS_ENV}; 0 = no limit)')
    return None


def declared_image_size(data: bytes) -> Optional[Tuple[int, int]]:
    """``(height, width)`` as an image file's header declares it, without
    decoding the pixels; None for a format Pillow cannot identify (OpenCV
    may still read it).

    Args:
        data (bytes): The file's content (only its header is read).
    """
    if data[:8] == PNG_MAGIC and data[12:16] == b'IHDR':
        width, height = struct.unpack('>II', data[16:24])
        return height, width
    from PIL import Image
    with warnings.catch_warnings():
        # Pillow's own decompression-bomb limits: the limit here is ours
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
        except Image.DecompressionBombError as e:
            # only > 2 x Pillow's limit gets here; its message has the size
            pixels = re.search(r'\((\d+) pixels\)', str(e))
            return (int(pixels.group(1)), 1) if pixels else None
        except Exception:  # not a format Pillow identifies
            return None
    return height, width


def check_image_array(img,
                      source: str = 'the image',
                      max_pixels: Optional[int] = None,
                      channels: Optional[int] = 3) -> None:
    """Refuse an image array the test and training transforms cannot take.

    Accepted: ``(H, W, C)`` with ``H, W >= 1``, ``C == channels`` (3: BGR, as
    mmcv loads image files), dtype uint8 or floating point with every value
    finite (on the 0-255 scale, as mmcv's ``to_float32`` gives; a float image
    whose values all lie in [0, 1] gets a warning).

    Args:
        img: The array.
        source (str): What to call it in the message (a file path, 'image 3
            of the batch').
        max_pixels (int, optional): Pixel-count limit; None reads
            :func:`max_image_pixels`; 0 means none.
        channels (int, optional): The channel count expected; None accepts
            any (for ``color_type='unchanged'`` loaders).

    Raises:
        ImageInputError: With the shape or dtype found and the fix.
    """
    if not isinstance(img, np.ndarray):
        raise ImageInputError(
            f'{source}: expected an image file path or a numpy array '
            f'(H, W, 3) BGR, got {type(img).__name__}')
    if img.ndim == 2 and channels == 3:
        raise ImageInputError(
            f'{source}: a 2-D array {img.shape} is a grayscale image; the '
            'model takes 3-channel BGR (H, W, 3): convert with '
            'cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)')
    if img.ndim != 3:
        raise ImageInputError(
            f'{source}: shape {img.shape} is not an image (H, W, C); pass one '
            'image per array (a batch as a list of arrays)')
    height, width = img.shape[:2]
    if height < 1 or width < 1:
        raise ImageInputError(
            f'{source}: shape {img.shape} holds no pixels; an image needs at '
            'least 1x1 pixels')
    if channels is not None and img.shape[2] != channels:
        fix = ('drop the alpha channel: img[..., :3]' if img.shape[2] == 4
               and channels == 3 else f'give {channels} channels (BGR)')
        raise ImageInputError(f'{source}: {img.shape[2]} channels in shape '
                              f'{img.shape}, expected {channels}; {fix}')
    limit = max_image_pixels() if max_pixels is None else max_pixels
    too_large = _over_limit(source, height, width, limit)
    if too_large:
        raise ImageInputError(too_large)
    if img.dtype == np.uint8:
        return
    if not np.issubdtype(img.dtype, np.floating):
        raise ImageInputError(
            f'{source}: dtype {img.dtype} is not an image dtype; give uint8 '
            '(0-255, as image files load) or float on the 0-255 scale, e.g. '
            'img.astype(np.uint8) for 8-bit values, (img // 257)'
            '.astype(np.uint8) for 16-bit ones')
    finite = np.isfinite(img)
    if not finite.all():
        raise ImageInputError(
            f'{source}: {img.size - int(finite.sum())} of {img.size} values '
            'are NaN or infinite; the model would segment them as garbage '
            '(replace them, e.g. np.nan_to_num(img))')
    if img.max() <= 1.0 and img.min() >= 0.0 and img.max() > 0:
        warnings.warn(
            f'{source}: a float image with all values in [0, 1]; the model '
            'expects the 0-255 scale of mmcv-loaded images (multiply by 255 '
            'if this image is on the [0, 1] scale)')


@TRANSFORMS.register_module()
class LoadCheckedImage(LoadImageFromFile):
    """Load an image from a file or take an array, refusing what the model
    cannot use before any transform runs.

    mmcv's ``LoadImageFromFile`` (the same decode: the pixels are equal), plus:

    - a file that is missing, empty, not an image or damaged (the decoder
      reports damaged data and returns garbage) raises
      :class:`ImageInputError` naming the file;
    - the pixel count the file's header declares is held to ``max_pixels``
      before the pixels are decoded;
    - an array in ``results['img']`` (no ``img_path``; as
      ``LoadImageFromNDArray`` takes it) is checked by
      :func:`check_image_array` (rank, size, channels, dtype, finiteness).

    Required keys: ``img_path``, or ``img`` (an array; ``img_source``, what to
    call it in a message, is optional). Added keys: ``img``,
    ``img_shape``, ``ori_shape`` (and ``img_path`` = None for an array).

    Args:
        max_pixels (int, optional): Pixel-count limit; None reads
            :func:`max_image_pixels` (``$DAS_MMSEG_MAX_IMAGE_PIXELS``, default
            2^27); 0 means none.
        **kwargs: ``to_float32``, ``color_type``, ``imdecode_backend``,
            ``backend_args`` as for ``LoadImageFromFile``. ``ignore_empty``
            is refused: a silently dropped sample is what this step exists to
            prevent.
    """

    def __init__(self, max_pixels: Optional[int] = None, **kwargs) -> None:
        if kwargs.get('ignore_empty'):
            raise ValueError(
                'LoadCheckedImage: ignore_empty=True would drop unreadable '
                'images silently; use LoadImageFromFile for that')
        super().__init__(**kwargs)
        if max_pixels is not None and (isinstance(max_pixels, bool)
                                       or not isinstance(max_pixels, int)
                                       or max_pixels < 0):
            raise ValueError('LoadCheckedImage: max_pixels must be an int >= '
                             f'0 (0 = no limit), got {max_pixels!r}')
        self.max_pixels = max_pixels

    def _limit(self) -> int:
        return max_image_pixels() if self.max_pixels is None else \
            self.max_pixels

    def _channels(self) -> Optional[int]:
        return 3 if self.color_type == 'color' else None

    def transform(self, results: dict) -> dict:
        """Load ``results['img_path']`` (or check ``results['img']``) and set
        ``img``, ``img_shape`` and ``ori_shape``. ``results`` may also be a
        path or an array alone (as inferencers feed their pipeline)."""
        if isinstance(results, (str, os.PathLike)):
            results = dict(img_path=str(results))
        elif not isinstance(results, dict):
            results = dict(img=results)
        if results.get('img_path') is None and 'img' in results:
            img = results['img']
            check_image_array(img, results.pop('img_source', 'the image'),
                              self._limit(), self._channels())
            results['img_path'] = None
        else:
            img = self._load(results['img_path'])
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _load(self, path: str) -> np.ndarray:
        """Read, size-check and decode one file."""
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError:
            raise ImageInputError(f'{path}: no such image file') from None
        except OSError as e:
            raise ImageInputError(
                f'{path}: cannot read the image file ({e})') from None
        if not data:
            raise ImageInputError(
                f'{path}: the image file is empty (0 bytes); replace or '
                're-convert it')
        marker = missing_end_marker(data)
        if marker:
            raise ImageInputError(
                f'{path}: the file lacks the {marker}: it was cut short (an '
                'interrupted copy or download; the decoder would fill in the '
                'missing part); replace or re-convert it')
        size = declared_image_size(data)
        if size is not None:
            too_large = _over_limit(path, *size, self._limit())
            if too_large:
                raise ImageInputError(too_large)
        with captured_native_stderr() as messages:
            try:
                img = mmcv.imfrombytes(
                    data, flag=self.color_type, backend=self.imdecode_backend)
            except Exception as e:  # Pillow and turbojpeg raise, OpenCV not
                img, error = None, f'{type(e).__name__}: {e}'
            else:
                error = ''
        message = ' '.join(messages[0].split())
        if img is None or img.size == 0:
            raise ImageInputError(
                f'{path}: not an image this loader can decode '
                f'({len(data)} bytes; {error or message or "not an image"})'
                '; replace or re-convert the file')
        if any(damage in message for damage in DECODER_DAMAGE):
            raise ImageInputError(
                f'{path}: the decoder reports damaged data ("{message}"): '
                'the pixels it returned are partly garbage; replace or '
                're-convert the file (tools/analysis_tools/check_dataset.py '
                'lists every such file of a dataset)')
        if message:
            os.write(2, messages[0].encode())  # not ours to judge: pass on
        too_large = _over_limit(path, *img.shape[:2], self._limit())
        if too_large:  # a format whose header Pillow could not read
            raise ImageInputError(too_large)
        return img

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] + f', max_pixels={self.max_pixels})')


def load_checked_image(image, max_pixels: Optional[int] = None) -> np.ndarray:
    """An image file (or array) as :class:`LoadCheckedImage` loads it: BGR
    uint8 ``(H, W, 3)``, checked; for tools that read one image."""
    return LoadCheckedImage(max_pixels=max_pixels)(image)['img']


__all__ = [
    'DEFAULT_MAX_IMAGE_PIXELS', 'ImageInputError', 'LoadCheckedImage',
    'check_image_array', 'load_checked_image', 'declared_image_size',
    'max_image_pixels'
]
