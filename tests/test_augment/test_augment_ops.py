"""The op library: registry, geometric ops against OpenCV, photometric ops
against PIL, gradients, clip semantics."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from fixtures import SAMPLE
from PIL import Image, ImageEnhance

from das_mmseg.augment import (AUGMENT_OPS, FrameLayout, PhotometricOp,
                               PixelSpace, build_op, build_ops,
                               forward_to_theta, mix_clip, num_edges,
                               op_matrices, to_normalized, warp_images)

PHOTO = osp.join(SAMPLE, 'img_dir/train/0001TP_006690.jpg')
GEOMETRIC = ['shift_x', 'shift_y', 'zoom', 'rotate', 'shear_x', 'shear_y']
CONTINUOUS_PHOTOMETRIC = ['brightness', 'contrast', 'saturation', 'sharpness']


@pytest.fixture(scope='module')
def photo():
    """A real CamVid frame, (H, W, 3) uint8 BGR, 180x240."""
    return cv2.imread(PHOTO)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float()


def opencv_matrix(name: str, value: float, height: int,
                  width: int) -> np.ndarray:
    """The same map written independently in OpenCV's convention (pixel centres
    at integers)."""
    cx, cy = (width - 1) / 2, (height - 1) / 2
    if name == 'shift_x':
        return np.array([[1, 0, value * width], [0, 1, 0]], np.float64)
    if name == 'shift_y':
        return np.array([[1, 0, 0], [0, 1, value * height]], np.float64)
    if name == 'zoom':
        return cv2.getRotationMatrix2D((cx, cy), 0, value)
    if name == 'rotate':
        return cv2.getRotationMatrix2D((cx, cy), value, 1)
    if name == 'shear_x':
        return np.array([[1, value, -value * cy], [0, 1, 0]], np.float64)
    return np.array([[1, 0, 0], [value, 1, -value * cx]], np.float64)


@pytest.mark.parametrize('name,value', [('shift_x', 0.1), ('shift_y', -0.13),
                                        ('zoom', 1.27), ('zoom', 0.8),
                                        ('rotate', 17.0), ('rotate', -33.0),
                                        ('shear_x', 0.2), ('shear_y', -0.15)])
def test_geometric_op_matches_opencv(photo, name, value):
    # Tolerance: 0.01 grey levels inside the region both warps fully cover
    # (eroded by one pixel); OpenCV warps the float image bilinearly, so only
    # float rounding separates the two.
    h, w = photo.shape[:2]
    op = build_op(name)
    theta = forward_to_theta(
        to_normalized(op.matrix(torch.tensor([value]), h, w), h, w))
    ours = warp_images(to_tensor(photo), theta,
                       'zeros')[0, 0].permute(1, 2, 0).numpy()
    matrix = opencv_matrix(name, value, h, w)
    reference = cv2.warpAffine(
        photo.astype(np.float32),
        matrix, (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0)
    covered = cv2.warpAffine(
        np.ones((h, w), np.float32), matrix, (w, h),
        flags=cv2.INTER_LINEAR) > 0.999
    inside = cv2.erode(covered.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert inside.mean() > 0.5
    assert np.abs(ours - reference)[inside].max() < 0.01
    assert np.abs(ours - photo).mean() > 1  # the op did move pixels


@pytest.mark.parametrize('name,pil_enhance',
                         [('brightness', ImageEnhance.Brightness),
                          ('contrast', ImageEnhance.Contrast),
                          ('saturation', ImageEnhance.Color),
                          ('sharpness', ImageEnhance.Sharpness)])
@pytest.mark.parametrize('factor', [0.6, 1.4])
def test_photometric_op_matches_pil(photo, name, pil_enhance, factor):
    # Tolerance: 1.5 grey levels (PIL rounds to uint8 inside its blends); the
    # BGR photo checks the channel order.
    reference = np.asarray(
        pil_enhance(Image.fromarray(
            photo[..., ::-1].copy())).enhance(factor))[..., ::-1]
    ours = build_op(name).apply(
        to_tensor(photo), torch.tensor([factor - 1]),
        PixelSpace(channel_order='bgr'))
    diff = np.abs(ours[0].permute(1, 2, 0).numpy() - reference)
    assert diff.max() < 1.5
    # the op did change pixels
    assert np.abs(reference.astype(np.float32) - photo).mean() > 0.5


def test_solarize_and_posterize(photo):
    x = to_tensor(photo)
    space = PixelSpace()
    solarized = build_op('solarize').apply(x, torch.tensor([0.5]), space)
    expected = np.where(photo >= 127.5, 255 - photo.astype(np.float32), photo)
    assert torch.equal(solarized[0].permute(1, 2, 0),
                       torch.from_numpy(expected))
    # 3 bits kept
    posterized = build_op('posterize').apply(x, torch.tensor([5.0]), space)
    assert torch.equal(
        posterized[0].permute(1, 2, 0),
        torch.from_numpy((photo & 0b11100000).astype(np.float32)))
    for name in ('solarize', 'posterize'):  # value 0 is the identity
        assert torch.equal(
            build_op(name).apply(x, torch.tensor([0.0]), space), x)


@pytest.mark.parametrize('name', ['solarize', 'posterize'])
def test_discrete_ops_pass_the_gradient_straight_through(photo, name):
    x = to_tensor(photo[:32, :32]).requires_grad_()
    build_op(name).apply(x, torch.tensor([1.0]), PixelSpace()).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize('name', GEOMETRIC + CONTINUOUS_PHOTOMETRIC)
def test_continuous_ops_have_gradients_for_input_and_magnitude(photo, name):
    ops = build_ops(['identity', name])
    x = to_tensor(cv2.resize(photo, (40, 30))).requires_grad_()
    magnitudes = torch.tensor(
        [0.0, 1.1 if name == 'zoom' else ops[1].init_range[1]],
        requires_grad=True)
    weights = torch.tensor([[0.3, 0.7], [0.6, 0.4]])
    clip = mix_clip(
        x,
        ops,
        weights,
        magnitudes.expand(2, 2),
        FrameLayout.build(4),
        num_nodes=1)
    (clip *
     torch.linspace(0, 1, clip.numel()).view(clip.shape)).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert torch.isfinite(
        magnitudes.grad).all() and magnitudes.grad[1].abs() > 0


def test_unknown_op_names_the_registered_ones():
    with pytest.raises(KeyError, match=r"'warp_drive'.*'rotate'.*'shift_x'"):
        build_op('warp_drive')
    with pytest.raises(ValueError, match='distinct'):
        build_ops(['zoom', 'zoom'])


def test_user_registers_an_op_without_touching_the_library(photo):
    name = 'test_invert_blend'
    if name not in AUGMENT_OPS.module_dict:

        @AUGMENT_OPS.register_module(name=name)
        class InvertBlend(PhotometricOp):
            bounds = (0.0, 0.25)
            init_range = (0.0, 0.1)

            def apply(self, images, values, space):
                alpha = values.clamp(0, 1).view(-1, 1, 1, 1)
                return images + alpha * (space.max_value - 2 * images)

    ops = build_ops(['identity', name])
    x = to_tensor(cv2.resize(photo, (40, 30)))
    clip = mix_clip(
        x,
        ops,
        torch.tensor([[0.0, 1.0], [0.0, 1.0]]),
        torch.tensor([0.0, 0.25]).expand(2, 2),
        FrameLayout.build(3, ref_frame=0),
        num_nodes=1)
    # frame 2: value 0.25 * 2
    assert torch.allclose(clip[:, 2], x + 0.5 * (255 - 2 * x))


def test_frame_layout_progressions():
    symmetric = FrameLayout.build(8)
    assert symmetric.ref_frame == 4 and symmetric.distances == (1, 2, 3, 4)
    assert symmetric.frame_index == (3, 2, 1, 0, -1, 0, 1, 2)
    signed = FrameLayout.build(8, progression='signed')
    assert signed.distances == (-4, -3, -2, -1, 1, 2, 3)
    assert FrameLayout.build(5, ref_frame=0).distances == (1, 2, 3, 4)
    for bad, match in [(dict(num_frames=0), 'num_frames'),
                       (dict(num_frames=4, ref_frame=4), r'\[0, 3\]'),
                       (dict(num_frames=4,
                             progression='forward'), "'symmetric', 'signed'")]:
        with pytest.raises(ValueError, match=match):
            FrameLayout.build(**bad)


def test_magnitude_progression_per_frame():
    ops = build_ops(['shift_x', 'zoom', 'rotate'])
    distances = torch.tensor([-2.0, -1.0, 1.0, 3.0])
    # normalised units
    matrices = op_matrices(ops, torch.tensor([0.1, 1.2, 10.0]), distances, 60,
                           80)
    # shift: magnitude * d (of the side)
    assert torch.allclose(matrices[0, :, 0, 2], 2 * 0.1 * distances)
    # zoom compounds: factor ** d
    assert torch.allclose(matrices[1, :, 0, 0], 1.2**distances)
    angle = torch.atan2(-matrices[2, :, 1, 0] * 60 / 80,
                        matrices[2, :, 0, 0]).rad2deg()
    # rotate: degrees * d
    assert torch.allclose(angle, 10.0 * distances, atol=1e-4)


def test_signed_progression_mirrors_the_motion(photo):
    ops = build_ops(['shift_x'])
    x = to_tensor(cv2.resize(photo, (40, 30)))
    weights = torch.ones(num_edges(1), 1)
    magnitudes = torch.full((2, 1), 0.1)
    signed = mix_clip(x, ops, weights, magnitudes,
                      FrameLayout.build(5, progression='signed'), 1)
    symmetric = mix_clip(x, ops, weights, magnitudes, FrameLayout.build(5), 1)
    assert torch.equal(symmetric[:, 1], symmetric[:, 3])  # |d| on both sides
    assert torch.equal(signed[:, 3], symmetric[:, 3])
    flipped = mix_clip(
        x.flip(-1), ops, weights, magnitudes,
        FrameLayout.build(5, progression='signed'), 1)
    # -d before: the pan goes on
    assert torch.allclose(signed[:, 1], flipped[:, 3].flip(-1), atol=1e-3)


def test_single_frame_gives_the_image_back_exactly(photo):
    x = to_tensor(photo)
    clip = mix_clip(
        x,
        build_ops(['rotate', 'brightness']),
        torch.rand(2, 2),
        torch.tensor([10.0, 0.2]).expand(2, 2),
        FrameLayout.build(1),
        num_nodes=1)
    assert clip.shape == (1, 1, 3, 180, 240) and torch.equal(clip[:, 0], x)


def test_padding_is_black_in_any_normalisation_and_configurable(photo):
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    space = PixelSpace(mean, std)
    x = space.from_pixels(to_tensor(cv2.resize(photo, (40, 30))))
    ops = build_ops(['shift_x'])
    args = (ops, torch.ones(2, 1), torch.tensor([[0.25], [0.25]]),
            FrameLayout.build(2, ref_frame=0), 1, space)
    zeros = mix_clip(x, *args, padding_mode='zeros')
    assert torch.allclose(
        space.to_pixels(zeros[:, 1])[..., :9],
        torch.zeros(1, 3, 30, 9),
        atol=1e-3)
    border = mix_clip(x, *args, padding_mode='border')
    assert torch.allclose(
        border[:, 1, ..., :9], x[..., :1].expand(1, 3, 30, 9), atol=1e-4)


def test_mixed_precision(photo):
    ops = build_ops(['identity', 'shift_x', 'zoom', 'rotate', 'contrast'])
    x = to_tensor(cv2.resize(photo, (40, 30)))
    alpha = torch.zeros(num_edges(2), 5, requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        clip = mix_clip(
            x, ops, alpha.softmax(-1),
            torch.tensor([0.0, 0.1, 1.1, 10.0, 0.1]).expand(num_edges(2), 5),
            FrameLayout.build(4), 2)
        clip.float().mean().backward()
    assert torch.isfinite(clip).all() and torch.isfinite(alpha.grad).all()


def test_bad_images_and_magnitudes_get_clear_errors_not_crashes(photo):
    """Issue 12.3: the op library names the bad input instead of failing deep
    inside (a 0-sized image used to end in a ZeroDivisionError)."""
    ops = build_ops(['identity', 'shift_x', 'brightness'])
    x = to_tensor(cv2.resize(photo, (40, 30)))
    good = (torch.ones(2, 3), torch.tensor([[0.0, 0.1, 0.1]] * 2))

    def render(images, weights=good[0], magnitudes=good[1]):
        return mix_clip(images, ops, weights, magnitudes, FrameLayout.build(3),
                        1)

    for images, error, match in [
        (x[..., :0], ValueError,
         r'mix_clip: images of shape \(1, 3, 30, 0\) \(N, C, H, W\) have an '
         r'empty dimension'),
        (x[:0], ValueError, r'images of shape \(0, 3, 30, 40\)'),
        (x[0], ValueError,
         r'mix_clip: images must be 4-D \(N, C, H, W\), got shape '
         r'\(3, 30, 40\)'),
        (x.byte(), TypeError,
         r'mix_clip: images must be floating point .* got torch.uint8'),
        (x.numpy(), TypeError,
         r'images must be a \(N, C, H, W\) tensor, got ndarray'),
    ]:
        with pytest.raises(error, match=match):
            render(images)
    with pytest.raises(
            ValueError,
            match=(r'mix_clip: magnitudes must be finite, got non-finite '
                   r'values at indices \[\(1, 1\)\]')):
        render(
            x,
            magnitudes=torch.tensor([[0.0, 0.1, 0.1], [0.0,
                                                       float('nan'), 0.1]]))
    with pytest.raises(
            ValueError,
            match=(r'mix_clip: magnitudes must be a tensor of shape \(2, 3\) '
                   r'\(edges, ops\), got \(3,\)')):
        render(x, magnitudes=torch.tensor([0.0, 0.1, 0.1]))
    with pytest.raises(
            ValueError, match=r'weights must be a tensor of shape \(2, 3\)'):
        render(x, weights=torch.ones(14, 3))
    for call in (
            lambda: warp_images(x[..., :0], torch.zeros(1, 2, 3), 'zeros'),
            lambda: to_normalized(torch.eye(3), 30, 0)):
        with pytest.raises(ValueError, match='>= 1'):
            call()


def test_an_absurd_clip_is_refused_before_it_is_allocated():
    ops = build_ops(['shift_x'])
    # 8 x 3 x 40000 x 40000 frames: an expanded view, nothing allocated
    huge = torch.zeros(1, 3, 1, 1).expand(1, 3, 40000, 40000)
    with pytest.raises(
            ValueError,
            match=(r'mix_clip: a clip of shape \(1, 8, 3, 40000, 40000\) .* '
                   r'has 38,400,000,000 elements, more than the limit of '
                   r'1,073,741,824 \(max_clip_elements\)')):
        mix_clip(huge, ops, torch.ones(2, 1), torch.zeros(2, 1),
                 FrameLayout.build(8), 1)
    with pytest.raises(ValueError, match=r'limit of 100 \(max_clip_elements'):
        mix_clip(
            torch.zeros(1, 3, 4, 4),
            ops,
            torch.ones(2, 1),
            torch.zeros(2, 1),
            FrameLayout.build(3),
            1,
            max_elements=100)
    with pytest.raises(
            ValueError,
            match=r'num_frames must be an integer in \[1, 1024\], got 100000'):
        FrameLayout.build(100000)
