"""The pictures: ``clip_to_rgb`` undoes the normalisation, ``draw_clip``
frames the reference frame, ``draw_alpha_history`` draws α (and learned
magnitudes) over the search, ``encode_png`` round-trips."""
import cv2
import numpy as np
import pytest
import torch

from das_mmseg.augment import PixelSpace
from das_mmseg.visualization import (clip_to_rgb, draw_alpha_history,
                                     draw_clip, encode_png)

# tiny tensors: see conftest.one_thread
pytestmark = pytest.mark.usefixtures('one_thread')


def test_clip_to_rgb_undoes_the_normalisation():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (3, 5, 6, 3), dtype=np.uint8)  # RGB
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    rgb = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    normalised = (rgb - torch.tensor(mean).view(
        1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert np.array_equal(
        clip_to_rgb(normalised, PixelSpace(mean, std, channel_order='rgb')),
        pixels)
    bgr = rgb.flip(1)
    assert np.array_equal(
        clip_to_rgb(bgr, PixelSpace(channel_order='bgr')), pixels)
    grey = clip_to_rgb(rgb[:, :1], PixelSpace())
    assert grey.shape == (3, 5, 6, 3) and np.array_equal(
        grey[..., 2], pixels[..., 0])
    # out-of-range values (zoomed-out padding, ops) are clamped
    assert clip_to_rgb(rgb * 4 - 300, PixelSpace()).min() == 0
    with pytest.raises(ValueError, match=r'\(T, C, H, W\).*\(3, 5, 6\)'):
        clip_to_rgb(rgb[0], PixelSpace())


def test_draw_clip_frames_the_reference_frame():
    frames = np.random.default_rng(0).integers(
        1, 255, (3, 8, 10, 3), dtype=np.uint8)
    montage = draw_clip(frames, ref_frame=1, border=2)
    assert montage.shape == (12, 3 * 14, 3)
    tiles = np.split(montage, 3, axis=1)
    for t, tile in enumerate(tiles):
        assert np.array_equal(tile[2:-2, 2:-2], frames[t])
        assert (tile[0] == (255 if t == 1 else 0)).all()
    titled = draw_clip(frames, ref_frame=1, titles=['a', 'b\nc', 'd'])
    assert titled.dtype == np.uint8 and titled.shape[-1] == 3
    assert titled.std() > 0
    with pytest.raises(ValueError, match=r'2 titles for 3 frames'):
        draw_clip(frames, titles=['a', 'b'])
    with pytest.raises(ValueError, match=r'\(T, H, W, 3\) uint8.*float'):
        draw_clip(frames.astype(float))


def test_draw_alpha_history_and_learned_magnitudes():
    weights = np.random.default_rng(0).dirichlet(np.ones(3), size=(4, 2))
    ops = ['identity', 'shift_x', 'zoom']
    plain = draw_alpha_history([1, 2, 5, 10], weights, ops)
    assert plain.dtype == np.uint8 and plain.ndim == 3 and plain.std() > 0
    magnitudes = np.zeros_like(weights)
    magnitudes[:, :, 1] = np.linspace(0.0, 0.1, 8).reshape(4, 2)
    with_magnitudes = draw_alpha_history([1, 2, 5, 10], weights, ops,
                                         magnitudes)
    # one more row: the shift_x trajectories
    assert with_magnitudes.shape[0] > plain.shape[0]
    with pytest.raises(ValueError, match=r'K = 3 records and O = 3 ops'):
        draw_alpha_history([1, 2, 3], weights, ops)
    with pytest.raises(ValueError, match=r'magnitudes must have the shape'):
        draw_alpha_history([1, 2, 5, 10], weights, ops, magnitudes[:, :1])


def test_encode_png_round_trips():
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3), np.uint8)
    decoded = cv2.imdecode(
        np.frombuffer(encode_png(rgb), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded[..., ::-1], rgb)
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8 RGB .*float'):
        encode_png(rgb.astype(float))
