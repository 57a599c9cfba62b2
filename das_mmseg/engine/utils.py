"""Small helpers shared by the DAS loop, optimizer constructor, α step and
hooks."""
from typing import Dict, List

import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside a DDP (or other mmengine) wrapper."""
    return model.module if is_model_wrapper(model) else model


def clip_cell_of(model: nn.Module, user: str) -> nn.Module:
    """The ``clip_cell`` of a clip segmentor or classifier, or a clear error.

    Args:
        model (nn.Module): The model, possibly wrapped.
        user (str): Who asks, for the error message.

    Raises:
        TypeError: The model has no clip cell with architecture parameters.
    """
    model = unwrap_model(model)
    cell = getattr(model, 'clip_cell', None)
    if cell is None or not hasattr(cell, 'arch_parameters'):
        raise TypeError(f'{user} needs a model with a clip cell '
                        '(ClipEncoderDecoder or ClipImageClassifier with '
                        'clip_cell=dict(type="ClipCell", ...)), but '
                        f'{type(model).__name__} has clip_cell={cell!r}')
    return cell


def parameter_names(model: nn.Module, params: List[nn.Parameter]) -> List[str]:
    """The qualified names of ``params`` in ``model`` (for messages)."""
    names: Dict[int, str] = {
        id(p): n
        for n, p in unwrap_model(model).named_parameters()
    }
    return [names.get(id(p), f'parameter {i}') for i, p in enumerate(params)]


def plain(value):
    """A config value as plain dicts, lists and scalars (comparable, and
    loadable by the safe checkpoint loader)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def forget_key(message_hub, key: str) -> None:
    """Remove a key from a message hub: its scalars, its runtime info and its
    resume flag.

    mmengine 0.10 has no public way to drop the flag (``pop_info`` and the
    ``log_scalars`` dict leave it in ``_resumed_keys``), and a flagged key
    missing from a checkpoint's hub makes each resume from it warn
    ``resumed key: ... is not defined in message_hub``.
    """
    message_hub.log_scalars.pop(key, None)
    message_hub.pop_info(key)
    message_hub._resumed_keys.pop(key, None)
