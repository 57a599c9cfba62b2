"""Frame fusion: averaging, affine algebra, and the exact inversion of known
warps by ``aligned`` fusion."""
import math
import os
import os.path as osp

import mmcv
import pytest
import torch
import torch.nn.functional as F
from fixtures import SAMPLE

from das_mmseg.models.fusion import (FUSION_MODES, average_features,
                                     average_frames, check_fusion_mode,
                                     fuse_aligned, invert_affines,
                                     reframe_affines)


def camvid_image(size=(48, 64)) -> torch.Tensor:
    """A real CamVid image ``(1, 3, H, W)``, float in [0, 1]."""
    folder = osp.join(SAMPLE, 'img_dir', 'val')
    img = mmcv.imread(osp.join(folder, sorted(os.listdir(folder))[0]))
    img = mmcv.imresize(img, size[::-1])
    return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255


def shift_theta(dx: float, dy: float, size) -> torch.Tensor:
    """Affine of a frame that shows the image shifted by whole pixels:
    ``frame(p) = image(p + (dx, dy))``."""
    h, w = size
    return torch.tensor([[1., 0., 2 * dx / w], [0., 1., 2 * dy / h]])


def warp(image: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Frames of ``image`` ``(N, C, H, W)`` under ``theta`` ``(N, 2, 3)``, by
    the clip convention."""
    grid = F.affine_grid(theta, list(image.shape), align_corners=False)
    return F.grid_sample(
        image,
        grid,
        mode='bilinear',
        padding_mode='zeros',
        align_corners=False)


def test_average_frames_is_the_mean_over_frame_major_rows():
    x = torch.randn(2 * 3, 4, 5, 5)
    out = average_frames(x, 3)
    assert out.shape == (2, 4, 5, 5)
    torch.testing.assert_close(out[1], x[3:6].mean(0))
    feats = average_features((x, x[:, :2]), 3)
    assert [f.shape for f in feats] == [(2, 4, 5, 5), (2, 2, 5, 5)]
    with pytest.raises(ValueError, match='whole number of clips'):
        average_frames(x, 4)


def test_check_fusion_mode_names_the_allowed_modes():
    assert [check_fusion_mode(m) for m in FUSION_MODES] == list(FUSION_MODES)
    with pytest.raises(ValueError, match="'logits', 'features', 'aligned'"):
        check_fusion_mode('max')


def test_logits_fusion_at_head_resolution_equals_upsampling_every_frame_first(
):
    """Why ``'logits'`` fusion averages before the head's upsampling: the
    paper's order gives the same result."""
    torch.manual_seed(0)
    logits = torch.randn(2 * 4, 11, 6, 8)
    paper = F.interpolate(
        logits, size=(48, 64), mode='bilinear',
        align_corners=False).unflatten(0, (2, 4)).mean(1)
    ours = F.interpolate(
        average_frames(logits, 4),
        size=(48, 64),
        mode='bilinear',
        align_corners=False)
    torch.testing.assert_close(ours, paper, atol=1e-5, rtol=0)


def test_invert_affines_composes_to_identity():
    angle = math.radians(20)
    theta = torch.tensor([[[1.2 * math.cos(angle), -math.sin(angle), 0.1],
                           [math.sin(angle), 0.8 * math.cos(angle), -0.2]]])
    inv = invert_affines(theta)
    full = torch.cat([theta, torch.tensor([[[0., 0., 1.]]])], 1)
    full_inv = torch.cat([inv, torch.tensor([[[0., 0., 1.]]])], 1)
    torch.testing.assert_close(
        full @ full_inv, torch.eye(3)[None], atol=1e-6, rtol=0)


def test_aligned_fusion_inverts_known_shifts_exactly():
    """Frames of a pattern shifted by whole pixels, fused back: the pattern
    itself, at every pixel; the plain mean of the same frames smears it and
    loses the borders."""
    image = camvid_image()
    size = image.shape[-2:]
    # frame 2 is the reference
    shifts = [(-3, 0), (-1, 2), (0, 0), (2, -1), (4, 3)]
    # (1, T, 2, 3)
    theta = torch.stack([shift_theta(dx, dy, size) for dx, dy in shifts])[None]
    # (1, T, C, H, W)
    frames = warp(image.expand(len(shifts), -1, -1, -1), theta[0])[None]
    fused = fuse_aligned(frames, theta)
    torch.testing.assert_close(fused, image, atol=1e-5, rtol=0)
    assert (frames.mean(1) - image).abs().max() > 0.1


def test_aligned_fusion_masks_padding_of_the_frames():
    """Frames warped at the image size and then padded (as the preprocessor
    pads pipeline clips): the padding must not leak into the fused image, even
    when it holds large values."""
    image = camvid_image()
    h, w = image.shape[-2:]
    shifts = [(-2, 1), (0, 0), (3, 2)]
    theta = torch.stack([shift_theta(dx, dy, (h, w)) for dx, dy in shifts])
    frames = F.pad(
        warp(image.expand(3, -1, -1, -1), theta), (0, 8, 0, 6),
        value=1e3)[None]
    padded_theta = reframe_affines(theta, (h, w), (h + 6, w + 8))[None]
    valid = torch.zeros(1, 1, h + 6, w + 8)
    valid[..., :h, :w] = 1
    fused = fuse_aligned(frames, padded_theta, valid)
    torch.testing.assert_close(fused[..., :h, :w], image, atol=1e-4, rtol=0)


def test_reframe_affines_to_a_padded_window_keeps_the_warp():
    """Warping a zero-padded image with the reframed affine gives, on the image
    region, the warped image."""
    image = camvid_image()
    h, w = image.shape[-2:]
    angle = math.radians(15)
    theta = torch.tensor(
        [[[0.9 * math.cos(angle), -math.sin(angle) * h / w, 0.1],
          [math.sin(angle) * w / h, 0.9 * math.cos(angle), -0.05]]])
    padded = F.pad(image, (0, 16, 0, 12))
    warped_padded = warp(padded,
                         reframe_affines(theta, (h, w), (h + 12, w + 16)))
    torch.testing.assert_close(
        warped_padded[..., :h, :w], warp(image, theta), atol=1e-4, rtol=0)


def test_reframe_affines_to_a_crop_keeps_the_warp_where_it_holds_the_source():
    image = camvid_image()
    h, w = image.shape[-2:]
    theta = shift_theta(3, -2, (h, w))[None]
    y, x, ch, cw = 10, 20, 24, 32
    crop_theta = reframe_affines(theta, (h, w), (ch, cw), (y, x))
    warped_crop = warp(image[..., y:y + ch, x:x + cw], crop_theta)
    expected = warp(image, theta)[..., y:y + ch, x:x + cw]
    # Sources of the crop's frame pixels lie 3 px right and 2 px up: inside the
    # crop except at those borders.
    torch.testing.assert_close(
        warped_crop[..., 2:, :-3], expected[..., 2:, :-3], atol=1e-5, rtol=0)
    back = reframe_affines(crop_theta, (ch, cw), (h, w), (-y, -x))
    torch.testing.assert_close(back, theta, atol=1e-6, rtol=0)


def test_aligned_fusion_rejects_affines_of_the_wrong_shape():
    with pytest.raises(
            ValueError, match=r'affines must have shape \(1, 3, 2, 3\)'):
        fuse_aligned(torch.zeros(1, 3, 2, 8, 8), torch.zeros(1, 2, 2, 3))
