"""``ImageToVideo``: the CPU pipeline step that turns an image into a T-frame
clip with a fixed policy."""
from typing import Dict, Optional, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from das_mmseg.augment import (PADDING_MODES, PhotometricOp, PixelSpace,
                               Policy, build_op, render_policy)
from das_mmseg.augment.clip import check_choice


@TRANSFORMS.register_module()
class ImageToVideo(BaseTransform):
    """Render the clip of a discrete policy from one image, with the op library
    the ``ClipCell`` uses.

    Required keys: ``img`` ((H, W, C) array, BGR as loaded).

    Modified keys: ``img`` becomes (H, W, T * C), frames stacked frame-major
    (frame t is channels ``[t * C:(t + 1) * C]``, in the loaded channel order);
    uint8 in, uint8 out (rounded), float32 otherwise.

    Added keys: ``num_frames`` (T), ``ref_frame``, ``frame_affines`` ((T, 2, 3)
    float32 ``affine_grid`` thetas, output → source in normalised coordinates,
    identity for the reference frame; None when a frame is not one warp of the
    image). Segmentation maps stay as they are: the label is the reference
    frame's, which is the image. Add ``num_frames``, ``ref_frame``,
    ``frame_affines`` to ``PackSegInputs(meta_keys=...)`` to keep them.

    Args:
        policy (Policy | dict | str): The discrete policy or its JSON path.
        padding_mode (str): ``'zeros'`` (black), ``'border'`` or
            ``'reflection'``.
        frame_jitter (dict[str, float], optional): Per-frame photometric
            randomness for the non-reference frames: photometric op name → the
            largest per-frame value (e.g. ``dict(brightness=0.1)``: factor in
            [0.9, 1.1]), drawn with numpy's global generator (seeded per worker
            by the runner).
        channel_order (str): Of the loaded images (mmcv loads BGR).
    """

    def __init__(self,
                 policy: Union[Policy, dict, str],
                 padding_mode: str = 'zeros',
                 frame_jitter: Optional[Dict[str, float]] = None,
                 channel_order: str = 'bgr') -> None:
        self.policy = Policy.coerce(policy)
        check_choice('padding_mode', padding_mode, PADDING_MODES)
        self.padding_mode = padding_mode
        self.space = PixelSpace(channel_order=channel_order)
        self.jitter_ops = {}
        for name, strength in (frame_jitter or {}).items():
            op = build_op(name)
            if not isinstance(op, PhotometricOp):
                raise ValueError(
                    f'frame_jitter takes photometric ops; {name!r} is '
                    f'{op.kind}')
            if not strength >= 0:
                raise ValueError(
                    f'frame_jitter[{name!r}] must be >= 0, got {strength!r}')
            self.jitter_ops[name] = (op, float(strength))
        self._edges = self.policy.edge_indices()
        self._magnitudes = self.policy.magnitude_tensor()

    def sample_jitter(self) -> Dict[str, np.ndarray]:
        """Per jitter op, (T,) values (0 for the reference frame): the sampled,
        replayable part of the transform."""
        values = {}
        for name, (_, strength) in self.jitter_ops.items():
            v = np.random.uniform(-strength, strength,
                                  self.policy.num_frames).astype(np.float32)
            v[self.policy.ref_frame] = 0
            values[name] = v
        return values

    def apply_jitter(self, clip: torch.Tensor,
                     values: Dict[str, np.ndarray]) -> torch.Tensor:
        """Apply sampled jitter to a (T, C, H, W) pixel-scale clip, leaving the
        reference frame as it is."""
        ref = self.policy.ref_frame
        for name, v in values.items():
            op = self.jitter_ops[name][0]
            jittered = op.apply(clip, torch.from_numpy(v), self.space)
            clip = torch.cat(
                [jittered[:ref], clip[ref:ref + 1], jittered[ref + 1:]])
        return clip

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        image = torch.from_numpy(np.ascontiguousarray(img)).permute(
            2, 0, 1).unsqueeze(0).float()
        with torch.no_grad():
            clip, thetas = render_policy(image, self.policy.op_modules,
                                         self._edges, self._magnitudes,
                                         self.policy.layout, self.space,
                                         self.padding_mode)
            clip = clip[0]  # (T, C, H, W)
            if self.jitter_ops:
                clip = self.apply_jitter(clip, self.sample_jitter())
        if img.dtype == np.uint8:
            clip = clip.round_().clamp_(0, 255).to(torch.uint8)
        t, c, h, w = clip.shape
        results['img'] = clip.permute(2, 3, 0, 1).reshape(h, w, t * c).numpy()
        results['num_frames'] = t
        results['ref_frame'] = self.policy.ref_frame
        results['frame_affines'] = None if thetas is None else thetas.numpy(
        ).astype(np.float32)
        return results

    def __repr__(self) -> str:
        jitter = {
            name: strength
            for name, (_, strength) in self.jitter_ops.items()
        }
        return (
            f'{self.__class__.__name__}(num_frames={self.policy.num_frames}, '
            f'ref_frame={self.policy.ref_frame}, '
            f'padding_mode={self.padding_mode!r}, frame_jitter={jitter})')


# classification: also in mmpretrain's registry, if installed
from das_mmseg.registry import register_in_mmpretrain  # noqa: E402

register_in_mmpretrain(ImageToVideo, 'TRANSFORMS')
