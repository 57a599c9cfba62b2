"""Building a clip model's cell: its config completed with the model's T and
the normalisation of the data preprocessor that makes its input."""
import math
from typing import Any, Dict, Optional

from mmengine.registry import Registry
from torch import nn

from ..data_preprocessor import preprocessor_space


def build_clip_cell(
        registry: Registry,
        clip_cell: Optional[dict],
        num_frames: int,
        data_preprocessor: Optional[nn.Module] = None) -> Optional[nn.Module]:
    """Build a clip model's cell from its config, completed with what the
    model owns: T and the normalisation of the images the cell sees.

    Args:
        registry (Registry): The MODELS registry to build from
            (mmseg's or mmpretrain's).
        clip_cell (dict, optional): The cell's config; None for a model fed
            clips (or images repeated T times).
        num_frames (int): The model's T (see
            :func:`das_mmseg.models.clip_length.settle_num_frames`, which
            checked that the config states no other).
        data_preprocessor (nn.Module, optional): The model's data
            preprocessor; the cell's ``mean``/``std``/``channel_order`` are
            filled from it when the cell config omits them (a value the
            config gives must agree).

    Returns:
        nn.Module | None: The cell, rendering ``num_frames`` frames.
    """
    if clip_cell is None:
        return None
    return registry.build(
        dict(
            clip_cell,
            num_frames=num_frames,
            **_space_to_fill(clip_cell, data_preprocessor)))


def _space_to_fill(clip_cell: dict,
                   data_preprocessor: Optional[nn.Module]) -> Dict[str, Any]:
    """The ``mean``, ``std`` and ``channel_order`` a cell config omits, from
    the data preprocessor that makes the cell's input
    (:func:`preprocessor_space`), so a config writes the normalisation once.
    Without a conversion flag the channel order is the data source's, which
    the preprocessor cannot tell: the cell's ``channel_order`` (default
    ``'rgb'``) then stays as configured.

    Raises:
        ValueError: The cell config gives a value that contradicts the
            preprocessor's.
    """
    found = preprocessor_space(data_preprocessor)
    name = type(data_preprocessor).__name__
    for key, value in found.items():
        given = clip_cell.get(key)
        if given is None:
            continue
        same = (
            given == value
            if isinstance(value, str) else len(given) == len(value) and all(
                math.isclose(float(a), b, rel_tol=1e-6, abs_tol=1e-6)
                for a, b in zip(given, value)))
        if not same:
            raise ValueError(
                f'clip_cell.{key}={given!r} contradicts the data '
                f'preprocessor ({name}), whose images have {key}={value!r}; '
                f'drop clip_cell.{key} (it is taken from the preprocessor)')
    return {
        key: value
        for key, value in found.items()
        if key not in clip_cell or clip_cell[key] is None
    }
