"""What a config's split is checked against: its dataset (built without
pipelines) and the classes, ignore index and decoders its pipeline and
dataset name."""
from typing import Iterator, Optional, Tuple


def _walk_datasets(ds_cfg) -> Iterator[dict]:
    """Every dataset config inside a (possibly wrapped) dataset config."""
    stack = [ds_cfg]
    while stack:
        ds = stack.pop()
        if not isinstance(ds, dict):
            continue
        yield ds
        stack.append(ds.get('dataset'))
        stack.extend(ds.get('datasets') or [])


def _pipeline_step(ds_cfg: dict, name: str) -> Optional[dict]:
    """The first pipeline step of type ``name`` in a dataset config."""
    for ds in _walk_datasets(ds_cfg):
        for step in ds.get('pipeline') or []:
            if isinstance(step, dict) and step.get('type') == name:
                return step
    return None


def split_check_settings(cfg, split: str) -> Optional[Tuple[object, dict]]:
    """The dataset of a config's split (built without pipelines: the files
    are what is checked) and what its samples are checked against; None when
    the config has no such split.

    The classes and the ignore index are those of the split's
    :class:`CheckSegLabels` step when it has one, else the dataset's class
    count and ``ignore_index``; the label decoder is that of its
    ``LoadAnnotations``.

    Args:
        cfg (mmengine.Config): The config.
        split (str): 'train', 'val' or 'test' (``{split}_dataloader``).

    Returns:
        tuple | None: The dataset and ``dict(num_classes, ignore_index,
        backend_args, imdecode_backend)`` (``num_classes`` None when neither
        names the classes).
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        return None
    ds_cfg = loader['dataset']
    ds_cfg = ds_cfg.to_dict() if hasattr(ds_cfg, 'to_dict') else dict(ds_cfg)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(_without_pipelines(ds_cfg))
    guard = _pipeline_step(ds_cfg, 'CheckSegLabels') or {}
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    load_ann = _pipeline_step(ds_cfg, 'LoadAnnotations') or {}
    backend_args = getattr(dataset, 'backend_args', None) or next(
        (ds.get('backend_args')
         for ds in _walk_datasets(ds_cfg) if ds.get('backend_args')), None)
    return dataset, dict(
        num_classes=guard.get('num_classes')
        or (len(classes) if classes else None),
        ignore_index=guard.get('ignore_index',
                               getattr(dataset, 'ignore_index', 255)),
        backend_args=backend_args,
        imdecode_backend=load_ann.get('imdecode_backend', 'pillow'))


def _without_pipelines(ds_cfg: dict) -> dict:
    """A copy of a dataset config with empty pipelines."""
    ds_cfg = dict(ds_cfg)
    if 'pipeline' in ds_cfg:
        ds_cfg['pipeline'] = []
    if isinstance(ds_cfg.get('dataset'), dict):
        ds_cfg['dataset'] = _without_pipelines(ds_cfg['dataset'])
    if ds_cfg.get('datasets'):
        ds_cfg['datasets'] = [
            _without_pipelines(d) for d in ds_cfg['datasets']
        ]
    return ds_cfg
