"""``ImageToVideo``: the CPU pipeline step that turns an image into a T-frame
clip with a fixed policy."""
import math
from typing import Dict, Optional, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from das_mmseg.augment import (MAX_CLIP_ELEMENTS, PADDING_MODES, PhotometricOp,
                               PixelSpace, Policy, PolicyError, build_op,
                               render_policy)
from das_mmseg.augment.rendering import check_clip_size
from das_mmseg.utils.validators import check_choice, check_int


@TRANSFORMS.register_module()
class ImageToVideo(BaseTransform):
    """Render the clip of a discrete policy from one image, with the renderer
    the ``ClipCell`` uses.

    Required keys: ``img`` ((H, W, C) or (H, W) array, BGR as loaded, uint8 or
    floating point).

    Modified keys: ``img`` becomes (H, W, T * C), frames stacked frame-major
    (frame t is channels ``[t * C:(t + 1) * C]``, in the loaded channel order);
    uint8 in, uint8 out (rounded), float32 otherwise.

    Added keys: ``num_frames`` (T), ``ref_frame``, ``frame_affines`` ((T, 2, 3)
    float32 ``affine_grid`` thetas, output → source in normalised coordinates,
    identity for the reference frame; None when the paths of a frame warp the
    image differently). Segmentation maps stay as they are: the label is the
    reference frame's, which is the image. Add ``num_frames``, ``ref_frame``,
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
        max_clip_elements (int): Largest clip (T·C·H·W elements) rendered; a
            larger image is refused before anything is allocated.
    """

    def __init__(self,
                 policy: Union[Policy, dict, str],
                 padding_mode: str = 'zeros',
                 frame_jitter: Optional[Dict[str, float]] = None,
                 channel_order: str = 'bgr',
                 max_clip_elements: int = MAX_CLIP_ELEMENTS) -> None:
        try:
            self.policy = Policy.coerce(policy)
        except PolicyError as e:
            raise PolicyError(f'ImageToVideo(policy=...): {e}') from None
        check_choice('padding_mode', padding_mode, PADDING_MODES)
        check_int('max_clip_elements', max_clip_elements, 1)
        self.padding_mode = padding_mode
        self.max_clip_elements = max_clip_elements
        self.space = PixelSpace(channel_order=channel_order)
        if frame_jitter is not None and not isinstance(frame_jitter, dict):
            raise ValueError(
                'frame_jitter must be a dict photometric op name → largest '
                f'per-frame value, got {frame_jitter!r}')
        self.jitter_ops = {}
        for name, strength in (frame_jitter or {}).items():
            op = build_op(name)
            if not isinstance(op, PhotometricOp):
                raise ValueError(
                    f'frame_jitter takes photometric ops; {name!r} is '
                    f'{op.kind}')
            if isinstance(strength, bool) or not isinstance(
                    strength, (int, float)) or not 0 <= strength < math.inf:
                raise ValueError(f'frame_jitter[{name!r}] must be a finite '
                                 f'number >= 0, got {strength!r}')
            self.jitter_ops[name] = (op, float(strength))

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

    def _checked_image(self, results: dict) -> np.ndarray:
        """``results['img']`` as (H, W, C); a clear error naming the file
        otherwise."""
        where = f'ImageToVideo: the image of {results.get("img_path", "?")!r}'
        img = results.get('img')
        if not isinstance(img, np.ndarray):
            raise TypeError(f'{where} must be a numpy array (H, W[, C]), got '
                            f'{type(img).__name__}')
        if img.ndim == 2:
            img = img[..., None]
        if img.ndim != 3 or min(img.shape) < 1:
            raise ValueError(
                f'{where} has shape {img.shape}; expected (H, W) or (H, W, '
                'C) with every size >= 1')
        if img.dtype != np.uint8 and not np.issubdtype(img.dtype, np.floating):
            raise TypeError(
                f'{where} has dtype {img.dtype}; expected uint8 or '
                'floating point')
        if img.dtype != np.uint8 and not np.isfinite(img).all():
            raise ValueError(f'{where} holds NaN or infinite pixel values')
        return img

    def transform(self, results: dict) -> dict:
        img = self._checked_image(results)
        h, w, c = img.shape
        check_clip_size((1, self.policy.num_frames, c, h, w),
                        self.max_clip_elements, 'ImageToVideo')
        image = torch.from_numpy(np.ascontiguousarray(img)).permute(
            2, 0, 1).unsqueeze(0).float()
        with torch.no_grad():
            clip = render_policy(image, self.policy, self.space,
                                 self.padding_mode,
                                 self.max_clip_elements)[0]  # (T, C, H, W)
            if self.jitter_ops:
                clip = self.apply_jitter(clip, self.sample_jitter())
        thetas = self.policy.frame_affines((h, w))
        if img.dtype == np.uint8:
            clip = clip.round_().clamp_(0, 255).to(torch.uint8)
        t = clip.shape[0]
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
