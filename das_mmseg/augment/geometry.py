"""Affine maths and warps: the geometric ops' matrices per frame, their
``affine_grid`` thetas, and the ``grid_sample`` warps the renderer mixes.

Matrices are *forward* (source pixel → output pixel) in pixel units centred
on the image centre, y pointing down, as the ops give them; thetas are
``affine_grid``'s (output → source, in [-1, 1] units). Warps sample
bilinearly with ``align_corners=False``.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .ops import AugmentOp, GeometricOp
from .tensor_checks import check_image_size, check_images

PADDING_MODES = ('zeros', 'border', 'reflection')


def frame_matrices(op: GeometricOp, magnitude: Tensor, distances: Tensor,
                   height: int, width: int) -> Tensor:
    """(..., T', 3, 3) forward matrices (centred pixels) of ``op`` with
    per-step ``magnitude`` (...) at each of the (T',) ``distances``."""
    return op.matrix(op.frame_values(magnitude, distances), height, width)


def to_normalized(matrix: Tensor, height: int, width: int) -> Tensor:
    """(..., 3, 3) forward matrices in centred pixel units → the same map in
    ``affine_grid``'s [-1, 1] units."""
    check_image_size(height, width, 'to_normalized')
    scale = matrix.new_tensor([2.0 / width, 2.0 / height, 1.0])
    return scale.view(3, 1) * matrix / scale.view(1, 3)


def forward_to_theta(forward: Tensor) -> Tensor:
    """(..., 3, 3) forward (source → output) matrices → (..., 2, 3)
    ``affine_grid`` thetas (output → source)."""
    linear, shift = forward[..., :2, :2], forward[..., :2, 2:]
    a, b = linear[..., 0, 0], linear[..., 0, 1]
    c, d = linear[..., 1, 0], linear[..., 1, 1]
    inv = torch.stack([d, -b, -c, a], dim=-1).view(
        linear.shape) / (a * d - b * c)[..., None, None]
    return torch.cat([inv, -inv @ shift], dim=-1)


def op_matrices(ops: Sequence[AugmentOp], magnitudes: Tensor,
                distances: Tensor, height: int, width: int) -> Tensor:
    """(K, T', 3, 3) normalised forward matrices of geometric ops per rendered
    frame (identity for the others)."""
    rows = []
    for k, op in enumerate(ops):
        if isinstance(op, GeometricOp):
            m = frame_matrices(op, magnitudes[k], distances, height, width)
            rows.append(to_normalized(m, height, width))
        else:
            rows.append(
                torch.eye(3, dtype=distances.dtype,
                          device=distances.device).expand(
                              len(distances), 3, 3))
    return torch.stack(rows)


def affine_grid(thetas: Tensor, height: int, width: int) -> Tensor:
    """``F.affine_grid(thetas, (B, C, H, W), align_corners=False)``, by
    broadcasting instead of a batched matmul over a homogeneous base grid
    (several times faster on CPU).

    Args:
        thetas (Tensor): (B, 2, 3).

    Returns:
        Tensor: (B, H, W, 2) sampling grid.
    """
    xs = (torch.arange(width, dtype=thetas.dtype, device=thetas.device) * 2 +
          1) / width - 1
    ys = (torch.arange(height, dtype=thetas.dtype, device=thetas.device) * 2 +
          1) / height - 1
    theta = thetas.view(-1, 1, 1, 2, 3)
    # (B, 1, W, 2) + (B, H, 1, 2): one full-size (contiguous) write
    along_x = theta[..., 0] * xs.view(1, 1, width, 1) + theta[..., 2]
    return along_x + theta[..., 1] * ys.view(1, height, 1, 1)


def warp_images(images: Tensor, thetas: Tensor, padding_mode: str) -> Tensor:
    """Warp each image by every theta: (N, C, H, W) and (P, 2, 3)
    → (N, P, C, H, W).

    The P sampling grids are stacked along the height, so the image is read as
    it is (never repeated P times).
    """
    check_images(images, 'warp_images')
    return _sample_stacked(images, thetas, padding_mode).transpose(1, 2)


def _sample_stacked(images: Tensor, thetas: Tensor,
                    padding_mode: str) -> Tensor:
    """(N, C, H, W) and (P, 2, 3) → (N, C, P, H, W): one ``grid_sample`` with
    the P grids stacked along the height."""
    n, c, h, w = images.shape
    p = thetas.shape[0]
    grid = affine_grid(thetas.to(images.dtype), h, w)
    grid = grid.reshape(1, p * h, w, 2).expand(n, -1, -1, -1)
    out = F.grid_sample(
        images,
        grid,
        mode='bilinear',
        padding_mode=padding_mode,
        align_corners=False)
    return out.view(n, c, p, h, w)


def warp_frames(frames: Tensor, thetas: Tensor, padding_mode: str) -> Tensor:
    """Warp frame b by theta b: (B, C, H, W) and (B, 2, 3) → (B, C, H, W)."""
    check_images(frames, 'warp_frames')
    grid = affine_grid(thetas.to(frames.dtype), *frames.shape[-2:])
    return F.grid_sample(
        frames,
        grid,
        mode='bilinear',
        padding_mode=padding_mode,
        align_corners=False)


def warp_image_sum(pixels: Tensor, thetas: Tensor, coefs: Tensor,
                   padding_mode: str) -> Tensor:
    """``Σ_p coefs[p] · warp(image, thetas[p, t])`` for every frame t, reading
    each image once.

    Args:
        pixels (Tensor): (N, C, H, W) images.
        thetas (Tensor): (P, T', 2, 3).
        coefs (Tensor): (P,).

    Returns:
        Tensor: (T', N, C, H, W), frame-major.
    """
    n, c, h, w = pixels.shape
    p, t = thetas.shape[:2]
    warped = _sample_stacked(pixels, thetas.flatten(0, 1), padding_mode)
    # (1, P) @ (N*C, P, T'*H*W): a reduction over P without a copy
    mixed = coefs.to(warped.dtype).view(1, p) @ warped.view(n * c, p, -1)
    return mixed.view(n, c, t, h, w).permute(2, 0, 1, 3, 4)


def warp_clip_sum(clip: Tensor, thetas: Tensor, coefs: Tensor,
                  padding_mode: str) -> Tensor:
    """``Σ_p coefs[p] · warp(clip[t], thetas[p, t])`` for every frame t, in
    one ``grid_sample``: the N images of a frame are its channels, its P grids
    are stacked along the height.

    Args:
        clip (Tensor): (T', N, C, H, W), frame-major.
        thetas (Tensor): (P, T', 2, 3).
        coefs (Tensor): (P,).

    Returns:
        Tensor: (T', N, C, H, W).
    """
    t, n, c, h, w = clip.shape
    p = thetas.shape[0]
    grid = affine_grid(
        thetas.transpose(0, 1).reshape(t * p, 2, 3).to(clip.dtype), h, w)
    warped = F.grid_sample(
        clip.reshape(t, n * c, h, w),
        grid.reshape(t, p * h, w, 2),
        mode='bilinear',
        padding_mode=padding_mode,
        align_corners=False)
    # (1, P) @ (T'*N*C, P, H*W): a reduction over P without a copy
    mixed = coefs.to(warped.dtype).view(1, p) @ warped.view(t * n * c, p, -1)
    return mixed.view(t, n, c, h, w)


def mean_displacement(forward: Tensor,
                      image_size: Tuple[int, int],
                      max_points: int = 64) -> Tensor:
    """Mean distance in pixels each pixel centre moves under forward
    matrices, on an evenly spaced grid of at most ``max_points`` per side
    (exact up to that size).

    Args:
        forward (Tensor): (..., 3, 3) forward matrices in centred pixels.
        image_size (tuple): (H, W).

    Returns:
        Tensor: (...) mean displacements.
    """
    h, w = image_size
    ys = torch.linspace(0.5 - h / 2, h / 2 - 0.5, min(h, max_points))
    xs = torch.linspace(0.5 - w / 2, w / 2 - 0.5, min(w, max_points))
    grid = torch.stack([
        xs.view(1, -1).expand(len(ys), -1),
        ys.view(-1, 1).expand(-1, len(xs)),
        torch.ones(len(ys), len(xs))
    ],
                       dim=-1).reshape(-1, 3).to(forward.dtype)  # (P, 3)
    moved = grid @ forward.transpose(-1, -2)  # (..., P, 3)
    return (moved - grid)[..., :2].norm(dim=-1).mean(-1)
