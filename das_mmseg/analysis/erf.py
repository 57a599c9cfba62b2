"""Effective receptive field (ERF) of a segmentor, as in Luo et al.,
"Understanding the Effective Receptive Field in Deep Convolutional Neural
Networks" (NeurIPS 2016) and RepLKNet's analysis (Ding et al., CVPR 2022).

For an output pixel ``(y, x)`` the ERF map is the magnitude of the gradient of
that pixel's logits with respect to the input image::

    g_n = d s_n / d image_n                  (C, H, W) per image n
    s_n = sum_k logits_n[k, y, x]            target='sum' (default)
        = logits_n[argmax_k logits_n[k, y, x], y, x]     target='argmax'
    erf = mean_n  sum_c |g_n[c]|             (H, W)

The input is the normalised image the model takes (after the data
preprocessor); for a clip model that is the image *before* the clip cell, so
the gradient flows through the cell's warps and an image model and its clip
twin are measured on the same input. The logits are those of
``model.inference`` at the input size (the heads' bilinear upsampling
included).

Figures: for a share ``p`` of the gradient mass, :func:`area_fraction` is the
size of the smallest set of pixels holding at least ``p`` of ``sum(erf)``
(pixels sorted by ``erf`` value, largest first), as a fraction of ``H * W``.
This is a sort-based high-contribution area: unlike RepLKNet's rectangle it
needs no centred, contiguous region.
"""
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

TARGETS = ('sum', 'argmax')
DEFAULT_SHARES = (0.2, 0.5, 0.9)


def erf_gradients(logits_fn: Callable[[Tensor], Tensor],
                  images: Tensor,
                  pixel: Optional[Tuple[int, int]] = None,
                  target: str = 'sum') -> Tensor:
    """Per-image ERF maps of one output pixel.

    Args:
        logits_fn (callable): Images ``(N, C, H, W)`` → logits
            ``(N, K, H_out, W_out)``; samples must not interact (eval-mode
            batch norm).
        images (Tensor): ``(N, C, H, W)``, the model's input.
        pixel (tuple[int, int], optional): ``(y, x)`` in the logits; default
            the centre ``(H_out // 2, W_out // 2)``.
        target (str): ``'sum'``: the sum of the pixel's logits over the
            classes; ``'argmax'``: the logit of the pixel's predicted class.

    Returns:
        Tensor: ``(N, H, W)``, ``sum_c |d s_n / d images[n, c]|``.
    """
    if target not in TARGETS:
        raise ValueError(f'target must be one of {TARGETS}, got {target!r}')
    images = images.detach().clone().requires_grad_(True)
    logits = logits_fn(images)
    if logits.dim() != 4 or logits.shape[0] != images.shape[0]:
        raise ValueError(
            'logits_fn must return (N, K, H, W) logits for N images, got '
            f'shape {tuple(logits.shape)} for {images.shape[0]} images')
    height, width = logits.shape[-2:]
    y, x = (height // 2, width // 2) if pixel is None else pixel
    if not (0 <= y < height and 0 <= x < width):
        raise ValueError(
            f'pixel (y, x) = {(y, x)} is outside the {height}x{width} output')
    scores = logits[:, :, y, x]  # (N, K)
    if target == 'argmax':
        scores = scores.gather(1, scores.argmax(1, keepdim=True))
    # samples are independent: one backward gives every image's gradient
    grad, = torch.autograd.grad(scores.sum(), images)
    return grad.abs().sum(dim=1)


def area_fraction(erf: np.ndarray, share: float) -> float:
    """Fraction of the pixels in the smallest set holding ``share`` of the
    ERF's mass.

    Args:
        erf (np.ndarray): Non-negative map ``(H, W)``.
        share (float): In (0, 1].

    Returns:
        float: ``k / (H * W)``, ``k`` the fewest pixels (largest values first)
        whose values sum to at least ``share * erf.sum()``.
    """
    if not 0 < share <= 1:
        raise ValueError(f'share must be in (0, 1], got {share!r}')
    values = np.sort(np.asarray(erf, dtype=np.float64).ravel())[::-1]
    total = values.sum()
    if not total > 0:
        raise ValueError('the ERF map is zero everywhere: the output pixel '
                         'does not depend on the input')
    cumulative = np.cumsum(values)
    # relative tolerance: a share reached exactly must not need one more pixel
    # for rounding
    needed = int(
        np.searchsorted(cumulative, share * total * (1 - 1e-9), 'left')) + 1
    return min(needed, values.size) / values.size


def area_fractions(
        erf: np.ndarray,
        shares: Sequence[float] = DEFAULT_SHARES) -> Dict[float, float]:
    """:func:`area_fraction` for each share: ``{share: fraction}``."""
    return {share: area_fraction(erf, share) for share in shares}


def mean_erf(batches: Iterable[Tuple[Callable[[Tensor], Tensor], Tensor]],
             pixel: Optional[Tuple[int, int]] = None,
             target: str = 'sum') -> Tuple[np.ndarray, int]:
    """The ERF averaged over images.

    Args:
        batches (iterable): ``(logits_fn, images)`` pairs, as
            :func:`erf_gradients` takes them (the forward may depend on the
            batch's metainfo); images ``(N_i, C, H, W)`` all of one size.
        pixel (tuple, optional): ``(y, x)``; default the centre.
        target (str): ``'sum'`` or ``'argmax'``.

    Returns:
        tuple: The mean map ``(H, W)`` (float64) and the number of images.
    """
    total, count, size = None, 0, None
    for logits_fn, images in batches:
        if size is not None and tuple(images.shape[-2:]) != size:
            raise ValueError(
                f'images of different sizes ({size} and '
                f'{tuple(images.shape[-2:])}): their ERF maps cannot be '
                'averaged; resize them to one size (erf.py: --shape H W)')
        size = tuple(images.shape[-2:])
        maps = erf_gradients(logits_fn, images, pixel, target)
        summed = maps.sum(0).double().cpu().numpy()
        total = summed if total is None else total + summed
        count += images.shape[0]
    if not count:
        raise ValueError('no images given')
    return total / count, count
