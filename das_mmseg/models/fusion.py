"""Fusion of per-frame predictions back into one image prediction.

A clip model runs its backbone on ``N*T`` frames (frame-major rows: row
``n*T + t`` is frame ``t`` of sample ``n``) and must give one prediction per
image. Three modes, chosen by the segmentor's ``fusion`` option:

- ``'logits'`` (the paper): every frame goes through the head; the logits are
  averaged over T. Bilinear upsampling is linear, so averaging at the head's
  resolution and upsampling once equals upsampling every frame to the input
  size and averaging, at 1/T of the memory; :func:`average_frames` is used that
  way.
- ``'features'``: every scale's features are averaged over T before a single
  head pass (T times cheaper head).
- ``'aligned'``: every frame's logits, upsampled to the input size, are warped
  back into the reference frame by the inverse of the frame's known affine
  before the average, and each pixel is averaged only over the frames that saw
  it (:func:`fuse_aligned`), so the mean never mixes misaligned or out-of-frame
  pixels.
- ``'reference'`` (beyond the paper): the reference frame's logits, the
  image's own; the other frames reach them through the backbone's temporal
  modules. The test-time reading of a model trained with per-frame targets
  (``loss_target='warped'``), whose frames each predict their own content,
  blended or not.

With T = 1 the four modes equal the plain 2-D model.

Affines follow the clip contract: ``theta`` of shape ``(2, 3)`` in the
normalised coordinates of ``F.affine_grid(theta, size, align_corners=False)``;
it maps output-frame coordinates to source-image coordinates, i.e.
``frame(p) = image(theta @ [p, 1])``.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils.validators import check_choice

FUSION_MODES = ('logits', 'features', 'aligned', 'reference')
_IntPair = Tuple[int, int]


def check_fusion_mode(mode: str) -> str:
    """Return ``mode`` if it is a fusion mode, else raise a ValueError naming
    the allowed ones."""
    return check_choice('fusion', mode, FUSION_MODES)


def average_frames(x: Tensor, num_frames: int) -> Tensor:
    """Average frame-major rows over the frames of each clip.

    Args:
        x (Tensor): Per-frame tensor of shape ``(N*T, ...)``.
        num_frames (int): T.

    Returns:
        Tensor: Shape ``(N, ...)``.
    """
    if x.shape[0] % num_frames:
        raise ValueError(
            f'{x.shape[0]} rows are not a whole number of clips of '
            f'{num_frames} frames')
    return x.unflatten(0, (-1, num_frames)).mean(dim=1)


def average_features(feats: Sequence[Tensor],
                     num_frames: int) -> Tuple[Tensor, ...]:
    """``'features'`` fusion: average every scale of a backbone/neck output
    over T.

    Args:
        feats (Sequence[Tensor]): Per-frame features, each
            ``(N*T, C_i, H_i, W_i)``.
        num_frames (int): T.

    Returns:
        tuple[Tensor]: Each ``(N, C_i, H_i, W_i)``.
    """
    return tuple(average_frames(f, num_frames) for f in feats)


def invert_affines(theta: Tensor) -> Tensor:
    """Inverse of affines ``(..., 2, 3)``: maps source-image coordinates back
    to frame coordinates."""
    bottom = theta.new_tensor([0., 0., 1.]).expand(*theta.shape[:-2], 1, 3)
    return torch.linalg.inv(torch.cat([theta, bottom], dim=-2))[..., :2, :]


def reframe_affines(theta: Tensor,
                    size: _IntPair,
                    new_size: _IntPair,
                    offset: _IntPair = (0, 0)) -> Tensor:
    """Express affines given for images of ``size`` in the coordinates of
    another window onto the same pixels.

    The window of ``new_size`` starts at pixel ``offset`` of the original
    image: a crop (slide inference) or a bottom/right padding
    (``offset = (0, 0)``, ``new_size`` the padded size). Frame and image share
    the window, as they share the original pixel grid.

    Args:
        theta (Tensor): Affines ``(..., 2, 3)`` in normalised coordinates of
            ``size``.
        size (tuple[int, int]): ``(H, W)`` the affines were given for.
        new_size (tuple[int, int]): ``(H', W')`` of the window.
        offset (tuple[int, int]): ``(y, x)`` pixel of the original image at the
            window's top-left corner.

    Returns:
        Tensor: Affines ``(..., 2, 3)`` in normalised coordinates of the
            window.
    """
    (h, w), (nh, nw), (oy, ox) = size, new_size, offset
    # Normalised x = 2u / W - 1 for pixel-edge coordinate u
    # (align_corners=False); same for y. Image-normalised = scale
    # * window-normalised + shift (shift: the window's centre in image
    # coordinates).
    scale = theta.new_tensor([nw / w, nh / h])
    shift = theta.new_tensor([(2 * ox + nw) / w - 1, (2 * oy + nh) / h - 1])
    linear, translation = theta[..., :2], theta[..., 2]
    new_linear = linear * scale[None, :] / scale[:, None]
    new_translation = (linear @ shift + translation - shift) / scale
    return torch.cat([new_linear, new_translation[..., None]], dim=-1)


def fuse_aligned(logits: Tensor,
                 affines: Tensor,
                 valid: Optional[Tensor] = None,
                 eps: float = 1e-6) -> Tensor:
    """``'aligned'`` fusion: warp every frame's logits back into the image,
    then average over the frames that see each pixel.

    Frame ``t`` shows ``image(A_t p)`` at its pixel ``p``, so its prediction
    for image pixel ``q`` sits at ``A_t^{-1} q``; sampling there (bilinear,
    zero outside the frame) brings it back. The same warp of the frame's
    validity gives each frame's weight per pixel, and the fused value is the
    weighted mean (normalised convolution: exact for whole-pixel shifts, and a
    pixel a frame never saw gets weight 0 from it rather than diluting the
    mean).

    Args:
        logits (Tensor): Per-frame logits ``(N, T, K, H, W)`` at the size the
            affines refer to.
        affines (Tensor): ``(N, T, 2, 3)``, each frame's affine (see the module
            docstring).
        valid (Tensor, optional): ``(N, 1, H, W)``, 1 where the frames hold
            image content, 0 on padding. Defaults to all ones.
        eps (float): Floor of the weight sum, for pixels no frame saw.

    Returns:
        Tensor: Fused logits ``(N, K, H, W)``.
    """
    n, t, k, h, w = logits.shape
    if affines.shape != (n, t, 2, 3):
        raise ValueError(
            f'affines must have shape {(n, t, 2, 3)} for logits of shape '
            f'{tuple(logits.shape)}, got {tuple(affines.shape)}')
    if valid is None:
        valid = logits.new_ones(n, 1, h, w)
    valid = valid.to(logits.dtype).unsqueeze(1).expand(n, t, 1, h, w)
    # Warp the masked logits and the mask in one pass; the mask channel becomes
    # the frame's weight. Frames with the identity affine (the reference frame)
    # are used as they are: exact, and one warp fewer per clip.
    stacked = torch.cat([logits * valid, valid], dim=2).flatten(0, 1)
    affines = affines.to(logits.dtype).flatten(0, 1)
    moving = (affines
              != torch.eye(2, 3, dtype=affines.dtype,
                           device=affines.device)).flatten(1).any(dim=1)
    warped = stacked.clone()
    if moving.any():
        grid = F.affine_grid(
            invert_affines(affines[moving]), [int(moving.sum()), k + 1, h, w],
            align_corners=False)
        # autocast runs grid_sample in float32: back to the logits' dtype
        warped[moving] = F.grid_sample(
            stacked[moving],
            grid,
            mode='bilinear',
            padding_mode='zeros',
            align_corners=False).to(warped.dtype)
    warped = warped.unflatten(0, (n, t)).sum(dim=1)
    return warped[:, :k] / warped[:, k:].clamp_min(eps)
