"""Building a clip model's cell: its config completed with the normalisation
of the data preprocessor that makes its input."""
import math
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from das_mmseg.utils.validators import check_int


def build_clip_cell(
    registry,
    clip_cell: Optional[dict],
    num_frames: Optional[int],
    data_preprocessor: Optional[nn.Module] = None
) -> Tuple[Optional[nn.Module], int]:
    """Build a clip model's cell and settle its clip length T.

    Args:
        registry (Registry): The MODELS registry to build from
            (mmseg's or mmpretrain's).
        clip_cell (dict, optional): The cell's config; None for a model fed
            clips (or images repeated T times).
        num_frames (int, optional): T, when given explicitly; it must agree
            with the cell's.
        data_preprocessor (nn.Module, optional): The model's data
            preprocessor; the cell's ``mean``/``std``/``channel_order`` are
            filled from it when the cell config omits them (see
            :func:`preprocessor_space`).

    Returns:
        tuple: The cell (or None) and T (the explicit one, else the cell's,
            else 1).
    """
    if num_frames is not None:
        check_int('num_frames', num_frames, 1)
    cell = None
    if clip_cell is not None:
        cell = registry.build(
            dict(clip_cell, **preprocessor_space(clip_cell,
                                                 data_preprocessor)))
    cell_frames = cell.num_frames if cell is not None else None
    if (num_frames is not None and cell_frames is not None
            and num_frames != cell_frames):
        raise ValueError(
            f'num_frames={num_frames} contradicts the clip cell\'s '
            f'num_frames={cell_frames}; set one of them')
    return cell, num_frames or cell_frames or 1


def preprocessor_space(clip_cell: dict,
                       data_preprocessor: Optional[nn.Module]) -> dict:
    """The ``mean``, ``std`` and ``channel_order`` a cell config omits, from
    the data preprocessor that makes the cell's input, so a config writes the
    normalisation once.

    The preprocessor's public ``mean``/``std`` buffers give the
    normalisation; its ``channel_conversion`` (mmseg) or ``to_rgb``
    (mmpretrain) flag turns the loaded BGR images into RGB. Without the flag
    the channel order is the data source's, which the preprocessor cannot
    tell (BGR from image files, RGB from CIFAR's arrays): the cell's
    ``channel_order`` (default ``'rgb'``) then stays as configured. A value the
    cell config gives must agree with the preprocessor's.

    Returns:
        dict: The keys to add to the cell config.
    """
    if data_preprocessor is None:
        return {}
    found: Dict[str, Any] = {}
    mean = getattr(data_preprocessor, 'mean', None)
    std = getattr(data_preprocessor, 'std', None)
    if torch.is_tensor(mean) and torch.is_tensor(std):
        found['mean'] = [float(v) for v in mean.flatten()]
        found['std'] = [float(v) for v in std.flatten()]
    for flag in ('channel_conversion', 'to_rgb'):
        # mmcv loads BGR and the flag makes it RGB; without it the order is
        # the source's (BGR from image files, RGB from CIFAR's arrays), which
        # the preprocessor does not know: then the cell's own setting stays
        if getattr(data_preprocessor, flag, None) is True:
            found['channel_order'] = 'rgb'
            break
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
