"""``init_model`` / ``inference_model`` for clip segmentors, and the clip an
image is seen as.

mmseg's functions already cover the clip models: the model is built from the
config, the checkpoint restores the weights and the clip cell's policy (the
cell keeps it in its state dict), and ``model.test_step`` runs the data
preprocessor, the cell, the video backbone and the fusion. Two things
change here: the device default (mmseg's is ``'cuda:0'``, which fails on a
machine without CUDA), and the test pipeline is built from a copy of the
config for every call (mmseg's ``inference_model`` edits ``model.cfg`` in
place, so a file path after an array fails).
"""
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmseg.apis import init_model as mmseg_init_model
from mmseg.structures import SegDataSample
from torch import nn

from das_mmseg.augment import PixelSpace, Policy
from das_mmseg.engine.checkpoint.fit import check_checkpoint_file_fits
from das_mmseg.models.data_preprocessor import preprocessor_space
from das_mmseg.models.segmentors import ClipEncoderDecoder
from das_mmseg.visualization import clip_to_rgb

ImageType = Union[str, np.ndarray, Sequence[str], Sequence[np.ndarray]]


def default_device() -> str:
    """``'cuda:0'`` when CUDA is available, else ``'cpu'``."""
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               allow_partial: bool = False) -> nn.Module:
    """Build a segmentor (clip or image) from a config and load a checkpoint.

    :func:`mmseg.apis.init_model` with ``device`` defaulting to the first GPU
    if there is one, else the CPU. The model is in eval mode, carries its
    config as ``model.cfg`` and the dataset's classes and palette as
    ``model.dataset_meta``; a clip model renders the policy its checkpoint
    was trained with (``--cfg-options model.clip_cell.policy=FILE.json`` in
    ``cfg_options`` swaps it, with a warning).

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file; None leaves the weights
            as initialised.
        device (str, optional): ``'cpu'``, ``'cuda'``, ``'cuda:1'``...;
            default :func:`default_device`.
        cfg_options (dict, optional): Overrides merged into the config.
        allow_partial (bool): Keep a model the checkpoint does not fit
            (:func:`das_mmseg.engine.checkpoint.fit.check_checkpoint_fits`);
            by default such a checkpoint is refused.

    Returns:
        nn.Module: The segmentor.

    Raises:
        CheckpointMismatchError: The checkpoint does not fit the config's
            model.
    """
    model = mmseg_init_model(config, checkpoint, device or default_device(),
                             cfg_options)
    if checkpoint is not None and not allow_partial:
        check_checkpoint_file_fits(model, checkpoint,
                                   'init_model(..., allow_partial=True)')
    return model


#: the loading steps of test pipelines that :func:`checked_test_pipeline`
#: replaces by :class:`~das_mmseg.datasets.loading.LoadCheckedImage`
IMAGE_LOADERS = ('LoadImageFromFile', 'LoadImageFromNDArray',
                 'InferencerLoader', 'LoadCheckedImage')


def checked_test_pipeline(test_pipeline: Sequence[dict]) -> List[dict]:
    """A test pipeline for inference: without ``LoadAnnotations``, its image
    loader replaced by ``LoadCheckedImage`` (files and arrays, checked before
    any transform; the loader's decode arguments kept).

    Args:
        test_pipeline (list[dict]): A config's ``test_pipeline``.

    Returns:
        list[dict]: The steps (copies).
    """
    steps = [
        dict(step) for step in test_pipeline
        if step.get('type') != 'LoadAnnotations'
    ]
    for step in steps:
        if step.get('type') in IMAGE_LOADERS:
            step['type'] = 'LoadCheckedImage'
            step.pop('ignore_empty', None)
            break
    return steps


def prepare_batch(model: nn.Module, img: ImageType):
    """A batch for ``model.test_step``: image(s) through the test pipeline of
    ``model.cfg`` (:func:`checked_test_pipeline`: each file or array is
    checked before any transform, see
    :class:`~das_mmseg.datasets.loading.LoadCheckedImage`).

    Returns:
        tuple: ``dict(inputs=[...], data_samples=[...])`` and whether ``img``
        was a list.

    Raises:
        ImageInputError: An image the model cannot take, named (its path or
            its place in the batch).
    """
    is_batch = isinstance(img, (list, tuple))
    imgs = list(img) if is_batch else [img]
    if not imgs:
        raise ValueError('no image given')
    # the steps are looked up in the config's scope, as mmseg's own
    # inference_model does (init_model set it; a later Runner may not have)
    init_default_scope(model.cfg.get('default_scope', 'mmseg'))
    pipeline = Compose(checked_test_pipeline(model.cfg.test_pipeline))
    data = dict(inputs=[], data_samples=[])
    for i, one in enumerate(imgs):
        if isinstance(one, (str, Path)):
            results = dict(img_path=str(one))
        else:
            results = dict(
                img=one,
                img_source=f'image {i} of the batch'
                if is_batch else 'the image')
        out = pipeline(results)
        data['inputs'].append(out['inputs'])
        data['data_samples'].append(out['data_samples'])
    return data, is_batch


@torch.no_grad()
def inference_model(
        model: nn.Module,
        img: ImageType) -> Union[SegDataSample, List[SegDataSample]]:
    """Segment image(s) with a (clip) segmentor, as
    :func:`mmseg.apis.inference_model`.

    Args:
        model (nn.Module): A segmentor from :func:`init_model`.
        img (str | np.ndarray | list): An image file or a BGR array
            ``(H, W, 3)``, or a list of them (all of one kind).

    Returns:
        SegDataSample | list[SegDataSample]: ``pred_sem_seg`` ``(1, H, W)``
        and ``seg_logits`` ``(K, H, W)`` at the image's own size.
    """
    data, is_batch = prepare_batch(model, img)
    results = model.test_step(data)
    return results if is_batch else results[0]


def clip_space(model: nn.Module, clip_from_pipeline: bool) -> PixelSpace:
    """How to turn the clips a model sees back into pixels.

    Args:
        model (nn.Module): A clip segmentor.
        clip_from_pipeline (bool): True when the clips come from the pipeline
            (``ImageToVideo``), normalised by the data preprocessor; False
            when the model's clip cell made them.

    Returns:
        PixelSpace: The cell's space, or the data preprocessor's mean, std and
        channel order (RGB when it converts the loaded images, else BGR, as
        mmcv loads image files).
    """
    cell = getattr(model, 'clip_cell', None)
    if cell is not None and not clip_from_pipeline:
        return cell.space
    # without a conversion flag: BGR, as mmcv loads image files
    space = dict(channel_order='bgr')
    space.update(preprocessor_space(model.data_preprocessor))
    return PixelSpace(**space)


@torch.no_grad()
def preprocessed_clips(model: nn.Module, data: dict) -> List[np.ndarray]:
    """The clip a clip segmentor sees for each image of a batch.

    In ``'whole'`` test mode this is exactly the clip of the prediction (the
    cell is deterministic in eval mode); in ``'slide'`` mode the model renders
    it window by window instead.

    Args:
        model (nn.Module): A :class:`ClipEncoderDecoder`.
        data (dict): A batch as the dataloader (or the inference pipeline)
            gives it: ``inputs`` and ``data_samples``, before the data
            preprocessor.

    Returns:
        list[np.ndarray]: Per image its frames, RGB uint8 ``(T, H, W, 3)``,
        cropped to the image (without the preprocessor's padding).
    """
    if not isinstance(model, ClipEncoderDecoder):
        raise TypeError(
            f'the clip needs a clip segmentor (ClipEncoderDecoder); the '
            f'model is a {type(model).__name__}, which sees the image only')
    data = model.data_preprocessor(data, False)
    inputs, samples = data['inputs'], data['data_samples']
    metas = [sample.metainfo for sample in samples]
    clip = model.make_clip(inputs, metas)[0]
    space = clip_space(model, clip_from_pipeline=inputs.dim() == 5)
    frames = []
    for one, meta in zip(clip, metas):
        h, w = meta.get('img_shape', one.shape[-2:])[:2]
        frames.append(clip_to_rgb(one[..., :h, :w], space))
    return frames


def clip_policy(model: nn.Module) -> Tuple[Optional[Policy], int]:
    """The discrete policy a clip model's clips come from, and their
    reference frame.

    Returns:
        tuple: The clip cell's policy (None while relaxed), else the policy
        of an ``ImageToVideo`` step of ``model.cfg``'s test pipeline, else
        None (repeated images); and the reference frame.
    """
    cell = getattr(model, 'clip_cell', None)
    if cell is not None:
        return cell.policy, cell.ref_frame
    cfg = getattr(model, 'cfg', None)
    for step in (cfg.get('test_pipeline') or []) if cfg else []:
        if step.get('type') == 'ImageToVideo':
            policy = Policy.coerce(step['policy'])
            return policy, policy.ref_frame
    return None, getattr(model, 'num_frames', 1) // 2


def frame_titles(policy: Optional[Policy], ref_frame: int, num_frames: int,
                 image_size: Tuple[int, int], relaxed: bool) -> List[str]:
    """One title per frame: its index and, under a policy, how far its
    pixels moved (``Policy.displacement``, mean pixels)."""
    moved = (
        policy.displacement(tuple(image_size)) if policy is not None else None)
    titles = []
    for t in range(num_frames):
        if t == ref_frame:
            titles.append(f't={t} (image)')
        elif moved is not None:
            titles.append(f't={t}, moved {moved[t]:.1f} px')
        else:
            titles.append(f't={t}' + (' (relaxed)' if relaxed else ''))
    return titles


def clip_titles(model: nn.Module,
                image_size: Tuple[int, int]) -> Tuple[int, List[str]]:
    """The reference frame and the :func:`frame_titles` of a clip model's
    clips.

    Args:
        model (nn.Module): A clip segmentor.
        image_size (tuple): ``(H, W)`` of the clip.

    Returns:
        tuple: The reference frame and one title per frame.
    """
    policy, ref_frame = clip_policy(model)
    num_frames = policy.num_frames if policy is not None else getattr(
        model, 'num_frames', 1)
    relaxed = policy is None and getattr(model, 'clip_cell', None) is not None
    return ref_frame, frame_titles(policy, ref_frame, num_frames, image_size,
                                   relaxed)


def inference_clip(model: nn.Module, img: ImageType):
    """The clip(s) a clip segmentor sees for image(s), as RGB frames.

    Args:
        model (nn.Module): A clip segmentor from :func:`init_model`.
        img (str | np.ndarray | list): An image file or a BGR array, or a
            list of them, as for :func:`inference_model`.

    Returns:
        np.ndarray | list[np.ndarray]: RGB uint8 frames ``(T, H, W, 3)`` at
        the size the test pipeline gives the image; a list for a list input.
    """
    data, is_batch = prepare_batch(model, img)
    frames = preprocessed_clips(model, data)
    return frames if is_batch else frames[0]


__all__ = [
    'init_model', 'inference_model', 'inference_clip', 'preprocessed_clips',
    'clip_space', 'default_device', 'prepare_batch', 'checked_test_pipeline',
    'clip_policy', 'clip_titles', 'frame_titles'
]
