"""What a search objective charges for misalignment: a *perfect* per-frame
segmenter (each frame's prediction is exactly that frame's content) scored
the way each ``loss_target`` of :class:`ClipEncoderDecoder` scores it.

- ``'reference'`` (the paper): the frames' predictions averaged (logit
  fusion) against the image's labels: every geometric op loses accuracy to
  misalignment, however good the segmenter.
- ``'warped'``: every frame against the labels the clip cell moved with its
  pixels (``ClipCell.render_maps``): a perfect segmenter scores 100 for every
  op, up to the pixels that come from outside the image (no label there).
"""
from typing import Dict

import torch
import torch.nn.functional as F


def miou(pred: torch.Tensor,
         target: torch.Tensor,
         num_classes: int,
         ignore_index: int = 255) -> float:
    """mIoU as mmseg's IoUMetric: per class intersection over union over all
    pixels, ignored pixels left out, the mean over classes with a non-empty
    union, in percent."""
    keep = target != ignore_index
    pred, target = pred[keep], target[keep]
    intersect = torch.bincount(
        pred[pred == target], minlength=num_classes).double()
    union = (torch.bincount(pred, minlength=num_classes) + torch.bincount(
        target, minlength=num_classes)).double() - intersect
    present = union > 0
    return float((intersect[present] / union[present]).mean() * 100)


def frame_labels(policy,
                 labels: torch.Tensor,
                 ignore_index: int = 255) -> torch.Tensor:
    """Each frame's content labels: the image's labels warped with the
    frame's affine (``Policy.frame_affines``), nearest neighbour,
    ``ignore_index`` where the frame shows what is outside the image.

    Args:
        policy (Policy): A policy whose frames are single warps.
        labels (Tensor): (N, H, W) integer labels.

    Returns:
        Tensor: (N, T, H, W).
    """
    n, h, w = labels.shape
    thetas = policy.frame_affines((h, w))
    if thetas is None:
        raise ValueError('frame_labels needs a policy whose frames are single '
                         'warps of the image')
    t = thetas.shape[0]
    grid = F.affine_grid(thetas, (t, 1, h, w), align_corners=False)
    # +1: 0 marks what comes from outside the image
    shifted = (labels.double() + 1).unsqueeze(1)
    out = torch.stack([
        F.grid_sample(
            shifted[i:i + 1].expand(t, -1, -1, -1),
            grid.double(),
            mode='nearest',
            padding_mode='zeros',
            align_corners=False)[:, 0] for i in range(n)
    ]).long() - 1
    return torch.where(out < 0, torch.full_like(out, ignore_index), out)


def perfect_segmenter_miou(policy,
                           labels: torch.Tensor,
                           num_classes: int,
                           ignore_index: int = 255) -> Dict[str, float]:
    """mIoU of a perfect per-frame segmenter of ``policy``'s clips under
    the paper's objective and the warped one.

    The segmenter predicts every frame's content labels
    (:func:`frame_labels`; no information, uniform, where a frame shows what
    is outside the image).

    Args:
        policy (Policy): A policy of single-warp frames.
        labels (Tensor): (N, H, W) integer labels of the images.
        num_classes (int): K.
        ignore_index (int): The ignored label.

    Returns:
        dict: ``reference``: the frames' one-hot predictions averaged, argmax,
        against the image's labels (the paper's objective); ``warped``: every
        frame's prediction against the labels the clip cell renders for it
        (argmax of ``ClipCell.render_maps`` of the one-hot labels, ignored
        where less than half a label's mass arrives).
    """
    from das_mmseg.models import ClipCell
    content = frame_labels(policy, labels, ignore_index)  # (N, T, H, W)
    known = content != ignore_index
    probs = F.one_hot(content.clamp(max=num_classes - 1),
                      num_classes).double().movedim(-1, 2)
    probs = torch.where(
        known.unsqueeze(2), probs,
        torch.full_like(probs, 1.0 / num_classes))  # (N, T, K, H, W)
    fused = probs.mean(1).argmax(1)
    reference = miou(fused, labels, num_classes, ignore_index)

    cell = ClipCell.from_policy(policy, policy=policy)
    onehot = (labels.unsqueeze(1) == torch.arange(num_classes).view(
        1, -1, 1, 1)).float()
    targets = cell.render_maps(onehot)  # (N, T, K, H, W)
    target = targets.argmax(2)
    target[targets.sum(2) < 0.5] = ignore_index
    warped = miou(probs.argmax(2), target, num_classes, ignore_index)
    return dict(reference=reference, warped=warped)
