"""Whether a checkpoint fits a model, checked before its weights are loaded.

mmengine loads a checkpoint non-strictly and reports the keys that did not
match in one log line among hundreds; the model is then evaluated or trained
half-loaded. Measured before this check: ``tools/test.py`` scored the image
baseline's checkpoint on the DAS config (mIoU 2.67), the DAS checkpoint on
the image config (17.45: a hybrid) and a checkpoint without weights (0.80: a
random model) without a word. :func:`check_checkpoint_fits` refuses such a
checkpoint, naming what does not fit and the way out.
"""
import re
from collections import Counter
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

#: the share (of parameter elements) left unloaded, or brought in unused,
#: above which a checkpoint does not fit
FIT_THRESHOLD = 0.1


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model it is loaded into."""


def _tensors(state: dict) -> Dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if torch.is_tensor(v)}


def _groups(keys: List[str]) -> str:
    """Keys summarised by module (the first two parts of their module's
    name: ``backbone.layer1``, ``clip_cell``)."""
    counts = Counter('.'.join(k.split('.')[:-1][:2]) or k for k in keys)
    shown = [f'{name} ({n})' for name, n in counts.most_common(6)]
    more = len(counts) - len(shown)
    return ', '.join(shown) + (f' and {more} more modules' if more else '')


def trained_model_type(checkpoint: dict) -> Optional[str]:
    """The model type of the config a checkpoint was trained with
    (``meta.cfg``, the config text mmengine writes), if it says."""
    text = (checkpoint.get('meta') or {}).get('cfg')
    if not isinstance(text, str):
        return None
    try:
        from mmengine.config import Config
        return Config.fromstring(text, '.py').model.type
    except Exception:  # an unreadable or foreign config text says nothing
        found = re.search(r"\btype='(\w+)'", text)
        return found.group(1) if found else None


def checkpoint_fit(
        model: nn.Module,
        state_dict: dict) -> Tuple[List[str], List[str], float, float]:
    """What of ``model`` a state dict leaves unloaded and what it brings
    that the model lacks.

    Returns:
        tuple: The missing keys (absent, or of another shape), the
        unexpected keys, and their shares of the model's and of the
        checkpoint's tensor elements.
    """
    model = getattr(model, 'module', model)
    wanted = _tensors(model.state_dict())
    given = _tensors(state_dict)
    missing = [
        k for k, v in wanted.items()
        if k not in given or given[k].shape != v.shape
    ]
    unexpected = [k for k in given if k not in wanted]
    share_missing = sum(wanted[k].numel() for k in missing) / max(
        sum(v.numel() for v in wanted.values()), 1)
    share_unexpected = sum(given[k].numel() for k in unexpected) / max(
        sum(v.numel() for v in given.values()), 1)
    return missing, unexpected, share_missing, share_unexpected


def check_checkpoint_fits(model: nn.Module, checkpoint: dict, source: str,
                          way_out: str) -> None:
    """Refuse a checkpoint that does not fit ``model``.

    It does not fit when it leaves more than :data:`FIT_THRESHOLD` of the
    model's tensor elements unloaded (absent or of another shape), when more
    than that share of its own elements has no place in the model, or when
    exactly one of them has a clip cell (a clip model's checkpoint in an
    image model, or the reverse: the cell holds the policy, so the result
    would be a model that was never trained). A new head (another number of
    classes) or new temporal modules on loaded weights stay below the
    threshold and load as before.

    Args:
        model (nn.Module): The model, possibly wrapped.
        checkpoint (dict): The loaded checkpoint (with ``state_dict``, or a
            bare state dict).
        source (str): Where it comes from, for the message (``'load_from
            "PATH"'``).
        way_out (str): How to load it partially on purpose (a flag or an
            argument).

    Raises:
        CheckpointMismatchError: Naming the modules that do not fit, the
            model type the checkpoint was trained with, and the ways out.
    """
    state = checkpoint.get('state_dict', checkpoint)
    missing, unexpected, share_missing, share_unexpected = checkpoint_fit(
        model, state)
    has_cell = [
        any(k.startswith('clip_cell.') for k in keys)
        for keys in (getattr(model, 'module', model).state_dict(), state)
    ]
    if (share_missing <= FIT_THRESHOLD and share_unexpected <= FIT_THRESHOLD
            and has_cell[0] == has_cell[1]):
        return
    model_type = type(getattr(model, 'module', model)).__name__
    trained = trained_model_type(checkpoint)
    problems = []
    if missing:
        problems.append(
            f'{share_missing:.0%} of the model\'s weights are not in it or '
            f'have another shape ({len(missing)} tensors: '
            f'{_groups(missing)})')
    if unexpected:
        problems.append(
            f'{share_unexpected:.0%} of its weights have no place in the '
            f'model ({len(unexpected)} tensors: {_groups(unexpected)})')
    if has_cell[0] != has_cell[1]:
        problems.append(
            'the model has a clip cell and the checkpoint none' if has_cell[0]
            else 'the checkpoint has a clip cell and the model none')
    origin = (f'Its config (meta.cfg) builds a model of type {trained}'
              if trained else 'Its meta holds no config')
    raise CheckpointMismatchError(
        f'{source} does not fit the {model_type} of this config: ' +
        '; '.join(problems) + f'. {origin}. Use the config it was trained '
        f'with (its meta.cfg), or load it partially on purpose: {way_out}.')


def check_checkpoint_file_fits(model: nn.Module, filename: str,
                               way_out: str) -> None:
    """:func:`check_checkpoint_fits` for a checkpoint file (read with
    mmengine's loader, the safe one once das_mmseg is imported)."""
    from mmengine.runner.checkpoint import _load_checkpoint
    check_checkpoint_fits(model, _load_checkpoint(filename, 'cpu'),
                          f'the checkpoint "{filename}"', way_out)
