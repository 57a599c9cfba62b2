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
- Plain 3-channel images pass through exactly as with mmseg's
  ``SegDataPreProcessor`` / mmpretrain's ``ClsDataPreprocessor`` and come out
  as ``(N, C, H, W)``; a clip model then makes the clip itself.

``C`` is the length of ``mean`` (3 without normalisation);
``T = channels // C``. A batch mixes no clip lengths. The mmpretrain
counterpart, ``ClipClsDataPreprocessor``, is in
:mod:`das_mmseg.models.classifiers` (imported when mmpretrain is installed).
"""
from contextlib import contextmanager
from typing import Iterator, List, Sequence, Tuple, Union

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from torch import Tensor


class ClipInputsMixin:
    """Per-frame colour conversion and normalisation of packed clips, shared by
    the clip preprocessors.

    The host class keeps its own padding, stacking and label handling; this
    mixin turns packed clips into normalised packed clips before that, and
    disables the host's own colour conversion and normalisation meanwhile.
    """

    # the host's attribute that switches its BGR<->RGB conversion
    _conversion_flag: str

    @property
    def frame_channels(self) -> int:
        """C, the channels of one frame."""
        return self.mean.numel() if self._enable_normalize else 3

    def _clip_length(self, channels: int) -> int:
        c = self.frame_channels
        if channels % c:
            raise ValueError(
                f'an input with {channels} channels is neither an image nor a '
                f'clip of {c}-channel '
                f'frames (the frame channels are set by the length of mean)')
        return channels // c

    def _normalise_frames(self, clip: Tensor, num_frames: int) -> Tensor:
        """``(..., T*C, H, W)`` packed clip -> the same shape, every frame
        colour-converted and normalised."""
        frames = clip.unflatten(-3, (num_frames, self.frame_channels)).float()
        if getattr(self, self._conversion_flag) and self.frame_channels == 3:
            frames = frames.flip(-3)
        if self._enable_normalize:
            frames = (frames - self.mean) / self.std
        return frames.flatten(-4, -3)

    def prepare_clips(
        self, inputs: Union[Tensor, Sequence[Tensor]]
    ) -> Tuple[Union[Tensor, List[Tensor]], int]:
        """Normalise packed clips frame by frame.

        Args:
            inputs (Tensor | Sequence[Tensor]): Packed samples ``(T*C, H, W)``,
                or a stacked batch ``(N, T*C, H, W)``, already on the device.

        Returns:
            tuple: The normalised packed inputs in the same container
            (untouched if they are images) and T (1 for images).
        """
        lengths = {self._clip_length(x.shape[-3]) for x in inputs}
        if len(lengths) > 1:
            raise ValueError(
                f'a batch mixes clips of {sorted(lengths)} frames; use one '
                'clip length per batch')
        num_frames = lengths.pop()
        if num_frames == 1:
            return inputs, 1
        if isinstance(inputs, Tensor):
            return self._normalise_frames(inputs, num_frames), num_frames
        return [self._normalise_frames(x, num_frames)
                for x in inputs], num_frames

    @contextmanager
    def host_transforms_disabled(self) -> Iterator[None]:
        """Switch off the host's own colour conversion and normalisation
        (already done per frame)."""
        saved = getattr(self, self._conversion_flag), self._enable_normalize
        setattr(self, self._conversion_flag, False)
        self._enable_normalize = False
        try:
            yield
        finally:
            setattr(self, self._conversion_flag, saved[0])
            self._enable_normalize = saved[1]

    def process(self, data: dict, host_forward, training: bool) -> dict:
        """Run ``host_forward`` (the parent's ``forward``) on clips normalised
        per frame; reshape to 5-D."""
        data = self.cast_data(data)
        inputs, num_frames = self.prepare_clips(data['inputs'])
        if num_frames == 1:
            return host_forward(data, training)
        with self.host_transforms_disabled():
            out = host_forward(dict(data, inputs=inputs), training)
        out['inputs'] = out['inputs'].unflatten(
            1, (num_frames, self.frame_channels))
        return out


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


__all__ = ['ClipSegDataPreProcessor', 'ClipInputsMixin']
