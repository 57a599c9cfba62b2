"""The clip length T of a clip model, stated once.

A clip model (:class:`ClipEncoderDecoder`, :class:`ClipImageClassifier`)
owns T. When it is built it settles T from its config
(:func:`settle_num_frames`) and fills it into the two parts that read it:
the clip cell (``clip_cell.num_frames``) and a video backbone
(``backbone.num_segments``, :func:`fill_num_segments`), as the cell's
normalisation is filled from the data preprocessor. Nothing changes T
afterwards: a forward pass only checks that a clip from the pipeline fits
the backbone (:func:`check_clip_length`).

Configs state T once, as the model's ``num_frames``. A config that also
states it in the cell or the backbone (older configs did) builds when the
values agree; different values are an error that names both.
"""
import copy
import inspect
from typing import List, Optional, Tuple

from mmengine.registry import Registry
from torch import nn

from das_mmseg.utils.validators import check_int

#: where a config may state T: the model's own key first
MODEL_KEY = 'num_frames'
CELL_KEY = 'clip_cell.num_frames'
BACKBONE_KEY = 'backbone.num_segments'


def _class_of(registry: Registry, cfg: dict) -> Optional[type]:
    """The class a config builds (None where the registry does not know it:
    the build itself then reports that)."""
    kind = cfg.get('type')
    if isinstance(kind, type):
        return kind
    return registry.get(kind) if isinstance(kind, str) else None


def _takes(cls: Optional[type], argument: str) -> bool:
    """Whether ``cls(...)`` has a named parameter ``argument``."""
    if cls is None:
        return False
    try:
        return argument in inspect.signature(cls).parameters
    except (TypeError, ValueError):  # no signature to read
        return False


def takes_num_segments(registry: Registry, backbone: dict) -> bool:
    """Whether a backbone config builds a video backbone: one that takes
    ``num_segments`` (ours, :class:`VideoBackboneMixin`, and any other)."""
    return _takes(_class_of(registry, backbone), 'num_segments')


def _cell_default(registry: Registry, clip_cell: dict) -> int:
    """The cell class's default ``num_frames`` (ClipCell: 8), 1 where the
    class or its default is unknown (the cell's build reports that)."""
    cls = _class_of(registry, clip_cell)
    if not _takes(cls, 'num_frames'):
        return 1
    default = inspect.signature(cls).parameters['num_frames'].default
    return default if isinstance(default, int) else 1


def settle_num_frames(registry: Registry, num_frames: Optional[int],
                      clip_cell: Optional[dict], backbone: dict) -> int:
    """T of a clip model from its config.

    T is the value stated: the model's ``num_frames``, else the cell's
    ``num_frames``, else a video backbone's ``num_segments`` (so a
    configured ``num_segments`` is honoured). Stated nowhere, it is the cell
    class's default with a cell, else 1 (every frame is the image).

    Args:
        registry (Registry): The MODELS registry the model builds its parts
            from (mmseg's or mmpretrain's).
        num_frames (int, optional): The model's ``num_frames``.
        clip_cell (dict, optional): The cell's config.
        backbone (dict): The backbone's config.

    Returns:
        int: T, >= 1.

    Raises:
        ValueError: A stated value is not an int >= 1, or two stated values
            differ.
    """
    stated: List[Tuple[str, int]] = [(MODEL_KEY, num_frames)]
    if clip_cell is not None:
        stated.append((CELL_KEY, clip_cell.get('num_frames')))
    if takes_num_segments(registry, backbone):
        stated.append((BACKBONE_KEY, backbone.get('num_segments')))
    stated = [(key, check_int(key, value, 1)) for key, value in stated
              if value is not None]
    for key, value in stated[1:]:
        first_key, first = stated[0]
        if value != first:
            raise ValueError(
                f'T is stated twice with different values: {first_key}='
                f'{first} and {key}={value}. State it once, as the model\'s '
                f'num_frames (model.num_frames={first} or {value}), and drop '
                f'{key}: the model fills {CELL_KEY} and {BACKBONE_KEY} from '
                'it when it is built')
    if stated:
        return stated[0][1]
    return 1 if clip_cell is None else _cell_default(registry, clip_cell)


def fill_num_segments(registry: Registry, backbone: dict,
                      num_frames: int) -> dict:
    """A copy of the backbone config with ``num_segments=num_frames`` for a
    video backbone (the config itself is left as it is); other backbones
    read every frame alike and their config is returned unchanged."""
    if not takes_num_segments(registry, backbone):
        return backbone
    filled = copy.copy(backbone)
    filled['num_segments'] = num_frames
    return filled


def check_clip_length(backbone: nn.Module, num_frames: int) -> None:
    """Refuse a clip whose length differs from the T a backbone's temporal
    modules were built for.

    Clips the model makes have its T. A clip from the pipeline
    (``ImageToVideo``) may have another length: a backbone without temporal
    modules (a 2-D one, or the image twin's video backbone built with
    ``temporal=None``) reads its frames independently and fusion averages
    however many there are, so such clips pass, as they always have. Temporal
    modules would mix frames of different clips (or fail on the batch size),
    so there it is an error; until the clip length had one owner the
    segmentor re-set the backbone's T before every forward instead.

    Args:
        backbone (nn.Module): The model's backbone.
        num_frames (int): T of the clips about to enter it.

    Raises:
        ValueError: The backbone has temporal modules built for another T.
    """
    built_for = getattr(backbone, 'num_segments', None)
    if built_for is None or built_for == num_frames:
        return
    temporal_modules = getattr(backbone, 'temporal_modules', None)
    if callable(temporal_modules) and not temporal_modules():
        return
    raise ValueError(
        f'a clip of {num_frames} frames reached a backbone whose temporal '
        f'modules were built for T = {built_for} (the model\'s num_frames); '
        f'make clips of {built_for} frames, or build the model with '
        f'num_frames={num_frames}')


__all__ = [
    'settle_num_frames', 'fill_num_segments', 'check_clip_length',
    'takes_num_segments'
]
