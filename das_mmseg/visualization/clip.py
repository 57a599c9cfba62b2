"""Pictures of clips: the frames a clip cell or a policy makes of an image,
side by side."""
from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from das_mmseg.augment import PixelSpace


def clip_to_rgb(clip: Tensor, space: PixelSpace) -> np.ndarray:
    """The frames of a clip as RGB pixels.

    Args:
        clip (Tensor): (T, C, H, W) frames in the cell's image space (e.g.
            normalised by the data preprocessor), C = 1 or 3.
        space (PixelSpace): How those images relate to pixels
            (``ClipCell.space``): mean, std, white level, channel order.

    Returns:
        np.ndarray: (T, H, W, 3) uint8 RGB frames.

    Raises:
        ValueError: ``clip`` is not (T, C, H, W) with C = 1 or 3.
    """
    if clip.dim() != 4 or clip.shape[1] not in (1, 3):
        raise ValueError('clip_to_rgb: clip must be (T, C, H, W) with C = 1 '
                         f'or 3, but got shape {tuple(clip.shape)}')
    with torch.no_grad():
        pixels = space.to_pixels(clip.detach().float().cpu())
        pixels = (pixels.clamp(0, space.max_value) *
                  (255.0 / space.max_value)).round().byte()
    frames = pixels.permute(0, 2, 3, 1).numpy()
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    elif space.channel_order == 'bgr':
        frames = frames[..., ::-1]
    return np.ascontiguousarray(frames)


def draw_clip(frames: np.ndarray,
              ref_frame: Optional[int] = None,
              titles: Optional[Sequence[str]] = None,
              border: int = 3) -> np.ndarray:
    """A montage of the frames of a clip, left to right.

    Without titles the montage is the frames' own pixels, each framed by
    ``border`` pixels (white around the reference frame, black around the
    others); with titles it is a matplotlib figure with one title above each
    frame.

    Args:
        frames (np.ndarray): (T, H, W, 3) uint8 RGB frames
            (:func:`clip_to_rgb`).
        ref_frame (int, optional): The reference frame (the image), framed
            white.
        titles (Sequence[str], optional): One title per frame.
        border (int): Frame border in pixels (without titles).

    Returns:
        np.ndarray: (H', W', 3) uint8 RGB montage.

    Raises:
        ValueError: ``frames`` is not (T, H, W, 3) uint8, or the titles do not
            match the frames.
    """
    if (frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8):
        raise ValueError('draw_clip: frames must be (T, H, W, 3) uint8, but '
                         f'got shape {frames.shape} {frames.dtype}')
    num_frames, height, width = frames.shape[:3]
    if titles is not None:
        if len(titles) != num_frames:
            raise ValueError(f'draw_clip: {len(titles)} titles for '
                             f'{num_frames} frames')
        return _titled_montage(frames, list(titles))
    tiles = []
    for t, frame in enumerate(frames):
        value = 255 if t == ref_frame else 0
        tile = np.full((height + 2 * border, width + 2 * border, 3),
                       value,
                       dtype=np.uint8)
        tile[border:border + height, border:border + width] = frame
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)


def _titled_montage(frames: np.ndarray, titles: list) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    num_frames, height, width = frames.shape[:3]
    lines = max(title.count('\n') + 1 for title in titles)
    side = 2.2
    fig = Figure(
        figsize=(side * num_frames * width / max(height, width),
                 side * height / max(height, width) + 0.18 * lines + 0.2),
        layout='constrained')
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(1, num_frames, squeeze=False)[0]
    for ax, frame, title in zip(axes, frames, titles):
        ax.imshow(frame)
        ax.set_title(title, fontsize=7)
        ax.axis('off')
    canvas.draw()
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])
