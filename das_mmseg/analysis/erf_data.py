"""Real images and a differentiable forward for the ERF of a segmentor built
from a config (``tools/analysis_tools/erf.py``)."""
import copy
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from mmengine.dataset import pseudo_collate
from torch import Tensor, nn

from das_mmseg.apis.inference import clip_space
from .erf import mean_erf

RESIZES = ('Resize', 'RandomResize', 'RandomChoiceResize')


def erf_pipeline(
    pipeline: Sequence[dict],
    shape: Optional[Tuple[int,
                          int]] = None) -> Tuple[List[dict], Optional[dict]]:
    """The test pipeline without labels and without ``ImageToVideo``.

    Args:
        pipeline (sequence of dict): A test pipeline.
        shape (tuple, optional): ``(H, W)``: every resize step is replaced by
            one resize to exactly this size (so images of any size average).

    Returns:
        tuple: The pipeline and the removed ``ImageToVideo`` step (or None).
    """
    steps, to_video = [], None
    for step in pipeline:
        kind = step.get('type')
        if kind == 'LoadAnnotations':
            continue
        if kind == 'ImageToVideo':
            to_video = dict(step)
            continue
        if shape is not None and kind in RESIZES:
            continue
        steps.append(copy.deepcopy(dict(step)))
    if shape is not None:
        steps.insert(
            1,
            dict(type='Resize', scale=(shape[1], shape[0]), keep_ratio=False))
    return steps, to_video


def pipeline_renderer(model: nn.Module,
                      to_video: dict) -> Callable[[Tensor], Tensor]:
    """Render on the device, differentiably, the clips an ``ImageToVideo``
    step of the pipeline makes, from normalised images ``(N, C, H, W)``.

    The step's policy and padding are rendered by ``render_policy`` (the
    renderer ``ImageToVideo`` runs) in the data preprocessor's pixel space,
    so the clip equals the pipeline's up to its uint8 rounding (per-frame
    photometric ``frame_jitter``, random by design, is left out).
    """
    from das_mmseg.augment import Policy, render_policy
    policy = Policy.coerce(to_video['policy'])
    space = clip_space(model, clip_from_pipeline=True)
    padding_mode = to_video.get('padding_mode', 'zeros')

    def render(images: Tensor) -> Tensor:
        return render_policy(images, policy, space, padding_mode)

    return render


def image_batches(dataset, model: nn.Module, count: int,
                  batch_size: int) -> Iterator[Tuple[Tensor, List[dict]]]:
    """The first ``count`` images of ``dataset``, preprocessed by the model's
    data preprocessor: ``(images (N, C, H, W), metainfo per image)``."""
    if count > len(dataset):
        raise ValueError(
            f'--images {count}: the dataset has only {len(dataset)} images')
    for start in range(0, count, batch_size):
        samples = [
            dataset[i] for i in range(start, min(start + batch_size, count))
        ]
        data = model.data_preprocessor(pseudo_collate(samples), False)
        yield data['inputs'], [s.metainfo for s in data['data_samples']]


def segmentor_logits(
    model: nn.Module,
    metas: List[dict],
    renderer: Optional[Callable[[Tensor], Tensor]] = None
) -> Callable[[Tensor], Tensor]:
    """``images (N, C, H, W) -> logits (N, K, H, W)`` of a segmentor at the
    input size (``model.inference``: whole or slide, as its test_cfg), with
    the clip rendered by ``renderer`` first when the pipeline made it."""

    def logits(images: Tensor) -> Tensor:
        inputs = renderer(images) if renderer is not None else images
        return model.inference(inputs, metas)

    return logits


def erf_of_model(model: nn.Module,
                 dataset,
                 count: int,
                 to_video: Optional[dict] = None,
                 pixel: Optional[Tuple[int, int]] = None,
                 target: str = 'sum',
                 batch_size: int = 1):
    """The mean ERF map of ``model`` over the first ``count`` images of
    ``dataset`` (see :mod:`das_mmseg.analysis.erf`).

    Returns:
        tuple: The map ``(H, W)`` and the number of images.
    """
    renderer = pipeline_renderer(model, to_video) if to_video else None
    batches = (
        (segmentor_logits(model, metas, renderer), images)
        for images, metas in image_batches(dataset, model, count, batch_size))
    return mean_erf(batches, pixel, target)
