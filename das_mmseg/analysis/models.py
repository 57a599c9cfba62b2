"""Building the models the analysis tools look at, from a config and an
optional checkpoint, segmentation or classification alike."""
import copy
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from das_mmseg.launch import load_config
from .twins import image_twin


def model_registry(cfg: Config):
    """The MODELS registry of a config's scope (mmseg or mmpretrain)."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if cfg.get('default_scope') == 'mmpretrain':
        from mmpretrain.registry import MODELS
    else:
        from mmseg.registry import MODELS
    return MODELS


def build_model(cfg: Config,
                model_cfg: Optional[dict] = None,
                checkpoint: Optional[str] = None,
                device: str = 'cpu') -> nn.Module:
    """Build ``model_cfg`` (default ``cfg.model``) in ``cfg``'s scope, in eval
    mode, with ``SyncBN`` as ``BN`` and, if given, a checkpoint's weights (and
    a clip cell's policy).

    Pretrained-backbone ``init_cfg`` is not run: the weights are random unless
    ``checkpoint`` is given.
    """
    from mmengine.runner import load_checkpoint
    registry = model_registry(cfg)
    model_cfg = model_cfg if model_cfg is not None else cfg.model
    model_cfg = copy.deepcopy(model_cfg)
    model_cfg.pop('pretrained', None)
    model = revert_sync_batchnorm(registry.build(model_cfg))
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.to(device).eval()


def test_image_paths(cfg: Config, count: int) -> list:
    """The image files of the first ``count`` samples of a config's test
    set (the default input of the tools that show or compare clips)."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(
        dict(cfg.test_dataloader.dataset, pipeline=[], lazy_init=False))
    return [
        dataset.get_data_info(i)['img_path']
        for i in range(min(count, len(dataset)))
    ]


def load_model_and_twin(
        config: str,
        checkpoint: Optional[str] = None,
        baseline: Optional[str] = None,
        baseline_checkpoint: Optional[str] = None,
        cfg_options: Optional[dict] = None,
        device: str = 'cpu'
) -> Tuple[Config, nn.Module, Optional[nn.Module], str]:
    """A model and its image baseline, as the comparing tools take them.

    Args:
        config (str): Config file of the model.
        checkpoint (str, optional): Its checkpoint.
        baseline (str, optional): Config file of the baseline; default the
            image twin of a clip model (:func:`image_twin`), none for an image
            model.
        baseline_checkpoint (str, optional): The baseline's checkpoint (with
            ``baseline`` only).
        cfg_options (dict, optional): Overrides for ``config``.
        device (str): Where the models go.

    Returns:
        tuple: The config, the model, the baseline (or None) and a line
        describing where the baseline comes from. Each model carries its
        config as ``model.cfg`` (as ``init_model`` gives it).
    """
    cfg = load_config(config, cfg_options)
    model = build_model(cfg, checkpoint=checkpoint, device=device)
    model.cfg = cfg
    if baseline is not None:
        base_cfg = load_config(baseline)
        twin = build_model(
            base_cfg, checkpoint=baseline_checkpoint, device=device)
        twin.cfg = base_cfg
        return cfg, model, twin, f'baseline: {baseline}'
    if baseline_checkpoint is not None:
        raise ValueError(
            'a baseline checkpoint needs its config: give --baseline CONFIG '
            'with it')
    twin_cfg = image_twin(cfg.model)
    if twin_cfg is None:
        return cfg, model, None, 'an image model: no baseline'
    twin = build_model(cfg, twin_cfg, device=device)
    twin.cfg = cfg
    return cfg, model, twin, ('baseline: the image twin (no clip cell, T = 1, '
                              'no temporal modules)')
