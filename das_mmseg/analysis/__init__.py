"""Analysis of trained (clip) models: FLOPs, effective receptive field, image
twins. The command-line tools in ``tools/analysis_tools/`` are thin wrappers of
these functions."""
from .complexity import Complexity, count_flops, format_count
from .erf import area_fraction, area_fractions, erf_gradients, mean_erf
from .twins import image_twin, is_clip_model

__all__ = [
    'Complexity', 'count_flops', 'format_count', 'area_fraction',
    'area_fractions', 'erf_gradients', 'mean_erf', 'image_twin',
    'is_clip_model'
]
