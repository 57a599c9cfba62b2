"""What the clip segmentor reads from its samples' metainfo: the frame
affines of clips from the pipeline, re-expressed for the padded clip tensor,
where the frames hold image content, and a window's metainfo in sliding
inference."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..fusion import reframe_affines


def metainfo_affines(clip: Tensor, batch_img_metas: Sequence[dict]) -> Tensor:
    """``frame_affines`` of the metainfo, re-expressed for the (possibly
    padded) clip tensor.

    Args:
        clip (Tensor): (N, T, C, H, W) clips from the pipeline.
        batch_img_metas (Sequence[dict]): Per sample ``frame_affines``
            (T, 2, 3), for the image of ``img_shape``.

    Returns:
        Tensor: (N, T, 2, 3) ``affine_grid`` thetas for the (H, W) clip.
    """
    num_frames, size = clip.shape[1], tuple(clip.shape[-2:])
    affines = []
    for meta in batch_img_metas:
        theta = meta.get('frame_affines')
        if theta is None:
            raise ValueError(
                "fusion='aligned' needs each frame's affine, but a clip "
                "from the pipeline has no 'frame_affines' metainfo (add "
                "'frame_affines' to the meta_keys of PackSegInputs; it "
                "is None where ImageToVideo's frames are not single "
                "warps), or use fusion='logits'")
        theta = torch.as_tensor(theta, dtype=clip.dtype, device=clip.device)
        if theta.shape != (num_frames, 2, 3):
            raise ValueError(
                f'frame_affines must have shape {(num_frames, 2, 3)} for '
                f'clips of {num_frames} frames, got {tuple(theta.shape)}')
        affines.append(
            reframe_affines(theta, tuple(meta['img_shape'][:2]), size))
    return torch.stack(affines)


def valid_region(clip: Tensor,
                 batch_img_metas: Sequence[dict]) -> Optional[Tensor]:
    """Where the frames of each clip hold the image: 1 on the image of
    ``img_shape``, 0 on the padding the preprocessor added to every frame.

    Args:
        clip (Tensor): (N, T, C, H, W).
        batch_img_metas (Sequence[dict]): Per sample ``img_shape``.

    Returns:
        Tensor | None: (N, 1, H, W); None where no sample is padded.
    """
    size = tuple(clip.shape[-2:])
    shapes = [tuple(meta['img_shape'][:2]) for meta in batch_img_metas]
    if all(s == size for s in shapes):
        return None
    valid = clip.new_zeros(clip.shape[0], 1, *size)
    for mask, (h, w) in zip(valid, shapes):
        mask[:, :h, :w] = 1
    return valid


def window_metainfo(meta: dict, size: torch.Size, offset: Tuple[int,
                                                                int]) -> dict:
    """A copy of ``meta`` for a window of ``size`` (H, W) at pixel
    ``offset`` (y, x): its own ``img_shape`` and its ``frame_affines``
    re-expressed for the window (``meta`` is left as it is)."""
    # a torch.Size img_shape tells the heads to upsample to the window
    window = dict(meta, img_shape=size)
    if meta.get('frame_affines') is not None:
        theta = torch.as_tensor(meta['frame_affines'], dtype=torch.float32)
        window['frame_affines'] = reframe_affines(theta,
                                                  tuple(meta['img_shape'][:2]),
                                                  tuple(size), offset)
    return window
