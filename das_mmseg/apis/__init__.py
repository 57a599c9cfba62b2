"""Inference entry points for DAS models, the OpenMMLab way.

mmseg's own :func:`mmseg.apis.init_model`, :func:`mmseg.apis.inference_model`
and :class:`mmseg.apis.MMSegInferencer` already run a clip segmentor exactly as
trained (the clip cell restores its policy from the checkpoint); what is added
here is a device default that works without CUDA, the clip each image was seen
as (:func:`inference_clip`, :class:`DASInferencer`), and the helpers of
``tools/test.py`` (:func:`build_test_config`, :func:`run_test`).
"""
from .inference import (clip_space, clip_titles, inference_clip,
                        inference_model, init_model, preprocessed_clips)
from .inferencer import DASInferencer
from .test import build_test_config, run_test

__all__ = [
    'init_model', 'inference_model', 'inference_clip', 'preprocessed_clips',
    'clip_space', 'clip_titles', 'DASInferencer', 'build_test_config',
    'run_test'
]
