"""Data preprocessors that understand clips as well as images.

Layout of a clip on its way to the model:

- Pipeline (``ImageToVideo``, then ``PackSegInputs`` / mmpretrain's
  ``PackInputs``): one sample's ``inputs`` is a uint8 tensor ``(T*C, H, W)``,
  channels stacked frame-major: frame ``t`` is channels ``[t*C:(t+1)*C]``, each
  frame in the loaded channel order (BGR for OpenCV loading).
- Preprocessor (here, on the device): every frame is converted to RGB on its
  own (``bgr_to_rgb`` / ``to_rgb``) and normalised with the per-channel
  ``mean``/``std`` of one image; all frames of a sample are padded alike
  (padding the stacked channels pads every frame to the same size with
  ``pad_val``); the batch is returned as ``(N, T, C, H, W)``. Labels are left
  untouched: they belong to the reference frame, which is the original image.
- Plain 3-channel images (T = 1) come out bit for bit as from mmseg's
  ``SegDataPreProcessor`` / mmpretrain's ``ClsDataPreprocessor``, as
  ``(N, C, H, W)``; a clip model then makes the clip itself.

Normalisation has one owner: the data preprocessor states ``mean``/``std``
and normalises. A clip cell renders its ops on pixel values (black padding,
photometric ops), so it un-normalises and re-normalises around them with the
same ``mean``/``std``, filled in from the preprocessor when the model is
built (:func:`preprocessor_space`; a cell config need not repeat them, and
a value it gives must agree). Rendering from never-normalised pixels and
normalising once would be simpler, but not the same numbers in float: the
trained models and the seeded runs are kept bit for bit.

``C`` is the length of ``mean`` (3 without normalisation);
``T = channels // C``. A batch mixes no clip lengths. The mmpretrain
counterpart, ``ClipClsDataPreprocessor``, is in
:mod:`das_mmseg.models.classifiers` (imported when mmpretrain is installed).
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from torch import Tensor, nn

#: the flags by which a preprocessor says it converts 3-channel images
#: (BGR as mmcv loads them) to RGB: ours (frame_conversion), mmseg's
#: (channel_conversion), mmpretrain's (to_rgb)
CONVERSION_FLAGS = ('frame_conversion', 'channel_conversion', 'to_rgb')


class ClipInputsMixin:
    """Per-frame colour conversion and normalisation of images and packed
    clips: the one step of a clip preprocessor that normalises.

    The host class (mmseg's ``SegDataPreProcessor``, mmpretrain's
    ``ClsDataPreprocessor``) is configured as usual (``mean``, ``std``,
    ``bgr_to_rgb`` / ``to_rgb``). When it is built this mixin takes the
    host's colour conversion and normalisation over, once: it keeps the
    settings (:attr:`frame_conversion`, :attr:`frame_normalisation`) and
    switches the host's own steps off, so the host only pads, stacks and
    batch-augments what :meth:`process` hands it. Nothing is switched per
    forward. The arithmetic is the host's, so images come out bit for bit as
    from the host alone.

    Attributes:
        frame_conversion (bool): Whether 3-channel frames are flipped
            BGR <-> RGB (the host's flag as configured; the host's own flag
            reads False).
        frame_normalisation (bool): Whether frames are normalised with the
            host's ``mean``/``std`` buffers (likewise).
    """

    # the host's attribute that switches its BGR<->RGB conversion
    _conversion_flag: str

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.frame_conversion = bool(getattr(self, self._conversion_flag))
        self.frame_normalisation = bool(self._enable_normalize)
        # done per frame by normalise_frames, for images and clips alike
        setattr(self, self._conversion_flag, False)
        self._enable_normalize = False

    @property
    def frame_channels(self) -> int:
        """C, the channels of one frame."""
        return self.mean.numel() if self.frame_normalisation else 3

    def _clip_length(self, channels: int) -> int:
        c = self.frame_channels
        if channels % c:
            raise ValueError(
                f'an input with {channels} channels is neither an image nor a '
                f'clip of {c}-channel '
                f'frames (the frame channels are set by the length of mean)')
        return channels // c

    def normalise_frames(self, clip: Tensor, num_frames: int) -> Tensor:
        """``(..., T*C, H, W)`` packed clip (or image, T = 1) -> the same
        shape in float, every frame colour-converted and normalised."""
        frames = clip.unflatten(-3, (num_frames, self.frame_channels)).float()
        if self.frame_conversion and self.frame_channels == 3:
            frames = frames.flip(-3)
        if self.frame_normalisation:
            frames = (frames - self.mean) / self.std
        return frames.flatten(-4, -3)

    def normalise_inputs(
        self, inputs: Union[Tensor, Sequence[Tensor]]
    ) -> Tuple[Union[Tensor, List[Tensor]], int]:
        """Convert and normalise packed images or clips frame by frame.

        Args:
            inputs (Tensor | Sequence[Tensor]): Packed samples ``(T*C, H, W)``,
                or a stacked batch ``(N, T*C, H, W)``, already on the device.

        Returns:
            tuple: The normalised packed inputs in the same container and T
            (1 for images).
        """
        lengths = {self._clip_length(x.shape[-3]) for x in inputs}
        if len(lengths) > 1:
            raise ValueError(
                f'a batch mixes clips of {sorted(lengths)} frames; use one '
                'clip length per batch')
        num_frames = lengths.pop()
        if isinstance(inputs, Tensor):
            return self.normalise_frames(inputs, num_frames), num_frames
        return [self.normalise_frames(x, num_frames)
                for x in inputs], num_frames

    def process(self, data: dict, host_forward, training: bool) -> dict:
        """Normalise every frame, run ``host_forward`` (the host's
        ``forward``: padding, stacking, batch augments) and reshape clips to
        ``(N, T, C, H, W)``; images stay ``(N, C, H, W)``."""
        data = self.cast_data(data)
        inputs, num_frames = self.normalise_inputs(data['inputs'])
        out = host_forward(dict(data, inputs=inputs), training)
        if num_frames > 1:
            out['inputs'] = out['inputs'].unflatten(
                1, (num_frames, self.frame_channels))
        return out


def preprocessor_space(
        data_preprocessor: Optional[nn.Module]) -> Dict[str, Any]:
    """What a data preprocessor says about the images it outputs, as the
    arguments of a :class:`~das_mmseg.augment.PixelSpace`: ``mean`` and
    ``std`` when it normalises, ``channel_order='rgb'`` when it converts.

    Any preprocessor: ours, mmseg's or mmpretrain's (their public
    ``mean``/``std`` buffers and conversion flag, :data:`CONVERSION_FLAGS`).
    Without conversion the channel order is the data source's (BGR from
    image files, RGB from CIFAR's arrays), which the preprocessor cannot
    tell: then no ``channel_order`` is given.

    Returns:
        dict: Some of ``mean``, ``std`` (lists of float) and
        ``channel_order``; empty for None.
    """
    if data_preprocessor is None:
        return {}
    found: Dict[str, Any] = {}
    mean = getattr(data_preprocessor, 'mean', None)
    std = getattr(data_preprocessor, 'std', None)
    if torch.is_tensor(mean) and torch.is_tensor(std):
        found['mean'] = [float(v) for v in mean.flatten()]
        found['std'] = [float(v) for v in std.flatten()]
    if any(
            getattr(data_preprocessor, flag, None) is True
            for flag in CONVERSION_FLAGS):
        found['channel_order'] = 'rgb'
    return found


@MODELS.register_module()
class ClipSegDataPreProcessor(ClipInputsMixin, SegDataPreProcessor):
    """``SegDataPreProcessor`` for images and clips: clips ``(T*C, H, W)`` come
    out as ``(N, T, C, H, W)``.

    Takes exactly the arguments of :class:`mmseg.models.SegDataPreProcessor`;
    see the module docstring for the layout. Padding (``size``,
    ``size_divisor``, ``test_cfg``) pads every frame of a clip alike and the
    seg map with ``seg_pad_val``, as for an image; ``pad_shape`` and
    ``padding_size`` metainfo are set the same way.
    """

    _conversion_flag = 'channel_conversion'

    def forward(self, data: dict, training: bool = False) -> dict:
        return self.process(data, super().forward, training)


__all__ = [
    'ClipSegDataPreProcessor', 'ClipInputsMixin', 'preprocessor_space',
    'CONVERSION_FLAGS'
]
