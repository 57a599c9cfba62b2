"""``init_cfg=dict(type='Pretrained', ...)`` that fails loudly.

mmengine's ``PretrainedInit`` loads with ``strict=False`` and only logs what
did not match, so two common mistakes pass silently or obscurely:

- a checkpoint that matches no key of the module (a whole classifier's or
  segmentor's checkpoint loaded into its backbone without
  ``prefix='backbone.'``) leaves the module at its random initialisation,
  with a warning in a long log;
- a remote checkpoint (``open-mmlab://resnet50_v1c``, ``torchvision://...``,
  ``https://...``) on a machine without network access fails with urllib's
  error deep inside ``torch.hub``, without saying which weights were wanted or
  how to give them from a local file.

:class:`PretrainedInit` here replaces mmengine's under the same registry name,
``'Pretrained'`` (:func:`register_pretrained_init`, called by
:mod:`das_mmseg.safe_io`, which the configs import): the same arguments and
the same loading, plus an error for both cases.
"""
import http.client
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit as MMEnginePretrainedInit
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import (get_deprecated_model_names,
                                        get_external_models, get_mmcls_models,
                                        get_torchvision_models,
                                        load_state_dict)
from torch import nn

# model-zoo schemes -> their name-to-URL table (mmengine's)
MODEL_ZOOS = {
    'open-mmlab://': get_external_models,
    'openmmlab://': get_external_models,
    'mmcls://': get_mmcls_models,
    'torchvision://': get_torchvision_models,
    'modelzoo://': get_torchvision_models,
}
# schemes whose checkpoints are downloaded (and cached by torch.hub)
REMOTE_SCHEMES = (*MODEL_ZOOS, 'http://', 'https://')


class PretrainedWeightsError(RuntimeError):
    """Pretrained weights that cannot be fetched, or that fit nothing of the
    module they were meant for."""


def checkpoint_url(checkpoint: str) -> Optional[str]:
    """The download address of a remote checkpoint name, None for a local
    one.

    Args:
        checkpoint (str): A path, a URL, or an mmengine model-zoo name such as
            ``'open-mmlab://resnet50_v1c'``.

    Returns:
        str | None: The URL (unknown model-zoo names give the name itself).
    """
    if checkpoint.startswith(('http://', 'https://')):
        return checkpoint
    for schemes, table in ((('open-mmlab://', 'openmmlab://'),
                            get_external_models), (('mmcls://', ),
                                                   get_mmcls_models),
                           (('torchvision://', 'modelzoo://'),
                            get_torchvision_models)):
        for scheme in schemes:
            if checkpoint.startswith(scheme):
                name = checkpoint[len(scheme):]
                if table is get_external_models:
                    name = get_deprecated_model_names().get(name, name)
                return table().get(name, checkpoint)
    return None


def offline_message(checkpoint: str, module: nn.Module,
                    error: BaseException) -> str:
    """What to do when the remote ``checkpoint`` cannot be downloaded."""
    url = checkpoint_url(checkpoint) or checkpoint
    file_name = osp.basename(url.split('?')[0]) or 'weights.pth'
    cache = osp.join(torch.hub.get_dir(), 'checkpoints', file_name)
    where = f' ({url})' if url != checkpoint else ''
    return (f'Could not download the pretrained weights "{checkpoint}"{where} '
            f'for {type(module).__name__}: {type(error).__name__}: {error}. '
            'Without network access, download the file on another machine and '
            f'either put it in torch.hub\'s cache as {cache} or pass it as a '
            'local file: --cfg-options '
            f'model.backbone.init_cfg.checkpoint=/path/to/{file_name} (the '
            'init_cfg of whichever module names this checkpoint, if it is not '
            'the backbone).')


def _state_dict_of(checkpoint: dict) -> Dict[str, torch.Tensor]:
    state_dict = checkpoint.get('state_dict', checkpoint)
    # a DataParallel/DDP checkpoint: as mmengine's load_checkpoint does
    return OrderedDict(
        (re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())


def check_matches(state_dict: Dict[str, torch.Tensor], module: nn.Module,
                  checkpoint: str, prefix: Optional[str]) -> int:
    """Raise :class:`PretrainedWeightsError` when no entry of
    ``state_dict`` has the name and shape of one of ``module``'s; return how
    many do."""
    own = module.state_dict()
    matched = sum(1 for k, v in state_dict.items()
                  if k in own and tuple(own[k].shape) == tuple(v.shape))
    if matched:
        return matched
    theirs = ', '.join(list(state_dict)[:3]) or 'none'
    ours = ', '.join(list(own)[:3]) or 'none'
    hint = ''
    if prefix is None and any(k.startswith('backbone.') for k in state_dict):
        hint = (' It is a whole model\'s checkpoint: load its backbone with '
                'init_cfg=dict(type=\'Pretrained\', '
                f'checkpoint=\'{checkpoint}\', prefix=\'backbone.\').')
    raise PretrainedWeightsError(
        f'The pretrained weights "{checkpoint}"'
        f'{f" (prefix={prefix!r})" if prefix else ""} match no parameter or '
        f'buffer of {type(module).__name__} (by name and shape), so nothing '
        f'would be loaded: the checkpoint has {len(state_dict)} entries such '
        f'as {theirs}; the module expects {len(own)} such as {ours}.{hint}')


class PretrainedInit(MMEnginePretrainedInit):
    """mmengine's ``PretrainedInit`` (registered as ``'Pretrained'``) that
    raises instead of loading nothing.

    Args:
        checkpoint (str): A local file, a URL or a model-zoo name
            (``open-mmlab://``, ``mmcls://``, ``torchvision://``).
        prefix (str, optional): Load only the entries under this prefix, with
            the prefix removed, e.g. ``'backbone.'`` to load a classifier's
            backbone.
        map_location (str): Where to map the tensors. Default ``'cpu'``.

    Raises:
        PretrainedWeightsError: the remote checkpoint cannot be downloaded
            (the message names it and says how to pass a local file), the
            prefix selects nothing, or no entry fits the module by name and
            shape.
    """

    def load(self, module: nn.Module) -> Dict[str, torch.Tensor]:
        """The checkpoint's state dict, prefix applied."""
        try:
            checkpoint = CheckpointLoader.load_checkpoint(
                self.checkpoint, map_location=self.map_location)
        except (OSError, http.client.HTTPException) as e:
            if not self.checkpoint.startswith(REMOTE_SCHEMES):
                raise
            raise PretrainedWeightsError(
                offline_message(self.checkpoint, module, e)) from e
        state_dict = _state_dict_of(checkpoint)
        if self.prefix is None:
            return state_dict
        prefix = self.prefix if self.prefix.endswith(
            '.') else self.prefix + '.'
        selected = OrderedDict((k[len(prefix):], v)
                               for k, v in state_dict.items()
                               if k.startswith(prefix))
        if not selected:
            raise PretrainedWeightsError(
                f'The pretrained weights "{self.checkpoint}" have no entry '
                f'under prefix={self.prefix!r} (entries such as '
                f'{", ".join(list(state_dict)[:3]) or "none"}); drop the '
                'prefix for a checkpoint of the module itself.')
        return selected

    def __call__(self, module: nn.Module) -> None:
        source = self.checkpoint if self.prefix is None else (
            f'{self.prefix} of {self.checkpoint}')
        print_log(f'load {source} into {type(module).__name__}', 'current')
        state_dict = self.load(module)
        check_matches(state_dict, module, self.checkpoint, self.prefix)
        load_state_dict(module, state_dict, strict=False, logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


def register_pretrained_init() -> None:
    """Make ``init_cfg=dict(type='Pretrained')`` build :class:`PretrainedInit`
    (mmengine's weight-initializer registry, which mmseg's and mmpretrain's
    inherit). Idempotent."""
    WEIGHT_INITIALIZERS.register_module(
        name='Pretrained', module=PretrainedInit, force=True)


__all__ = [
    'PretrainedInit', 'PretrainedWeightsError', 'checkpoint_url',
    'check_matches', 'register_pretrained_init'
]
