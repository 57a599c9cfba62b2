"""The dataset folders a config reads, checked before anything is built: each
must exist and hold the files its loader looks for."""
import inspect
import os
import os.path as osp
from typing import Iterator, Optional, Sequence, Tuple

from mmengine.config import Config

from ..datasets.checks import find_files

DATASETS_DOC = 'README.md, section "Datasets"'

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _iter_datasets(
        cfg: Config,
        loaders: Sequence[str] = LOADERS) -> Iterator[Tuple[str, dict]]:
    """Yield (dataloader name, dataset cfg) for every dataset a config will
    build, unwrapping dataset wrappers."""
    for loader in loaders:
        stack = [cfg.get(loader, {}) and cfg[loader].get('dataset')]
        while stack:
            ds = stack.pop()
            if not isinstance(ds, dict):
                continue
            # RepeatDataset, ClassBalancedDataset, MultiImageMixDataset
            if 'dataset' in ds:
                stack.append(ds['dataset'])
            if 'datasets' in ds:  # ConcatDataset
                stack.extend(ds['datasets'])
            if 'data_root' in ds or 'data_prefix' in ds:
                yield loader, ds


def _class_default(ds_type, arg: str) -> Optional[str]:
    """The default of a dataset class's constructor argument (e.g. the
    ``img_suffix`` of ``CamVidDataset``), or None when unknown."""
    from mmseg.registry import DATASETS
    try:
        cls = DATASETS.get(ds_type) if isinstance(ds_type, str) else ds_type
        param = inspect.signature(cls.__init__).parameters.get(arg)
    except Exception:  # not an mmseg dataset, or an unusual one
        return None
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return param.default


def check_data_folder_holds_files(path: str, loader: str, key: str,
                                  ds: dict) -> None:
    """Raise a clear error when a dataset folder exists but holds no files, or
    none with the suffix the dataset lists (mmengine would fail later with
    ``need at least one array to concatenate``).

    Args:
        path (str): The folder.
        loader (str): The dataloader it belongs to, for the message.
        key (str): Its ``data_prefix`` key ('img_path', 'seg_map_path'), or
            'data_root'.
        ds (dict): The dataset config.
    """
    suffix_arg = dict(
        img_path='img_suffix', seg_map_path='seg_map_suffix').get(key)
    suffix = None
    if suffix_arg:
        suffix = ds.get(suffix_arg, _class_default(ds.get('type'), suffix_arg))
    if not isinstance(suffix, str):
        suffix = None
    found, seen = find_files(path, suffix)
    if found:
        return
    name = ds.get('type', 'the dataset')
    where = (f'{loader}.dataset.data_prefix.{key}'
             if key != 'data_root' else f'{loader}.dataset.data_root')
    if not seen:
        raise FileNotFoundError(
            f'{loader}: the dataset folder "{path}" ({where} of {name}) '
            'exists but holds no files. Put the dataset there as described '
            f'in {DATASETS_DOC}, or point the config at the right folder '
            f'with --cfg-options {loader}.dataset.data_root=PATH.')
    held = ', '.join(
        f'{n} {ext}'
        for ext, n in sorted(seen.items(), key=lambda item: -item[1])[:5])
    raise FileNotFoundError(
        f'{loader}: the dataset folder "{path}" ({where} of {name}) holds '
        f'no "*{suffix}" files, which {name} lists (it holds {held}). Set '
        f'{loader}.dataset.{suffix_arg} to the suffix of the files, or point '
        f'the config at the right folder ({DATASETS_DOC}).')


def check_data_roots(cfg: Config, loaders: Sequence[str] = LOADERS) -> None:
    """Raise a clear error, before the Runner starts, when a dataset folder of
    the config does not exist or holds no files of the dataset.

    Only local paths are checked (a ``backend_args`` for a remote file backend
    skips the check).

    Args:
        cfg (Config): The config.
        loaders (Sequence[str]): The dataloaders whose datasets to check.
            Defaults to all three.
    """
    for loader, ds in _iter_datasets(cfg, loaders):
        if ds.get('backend_args'):
            continue
        root = ds.get('data_root') or ''
        if root and not osp.isdir(root):
            raise FileNotFoundError(
                f'{loader}: the dataset root "{root}" of '
                f'{ds.get("type", "the dataset")} does not exist (working '
                f'directory: {os.getcwd()}). Prepare the dataset as described '
                f'in {DATASETS_DOC}, or point the config at it with '
                f'--cfg-options {loader}.dataset.data_root=PATH.')
        prefixes = ds.get('data_prefix') or {}
        # mmpretrain datasets also take a plain string
        if isinstance(prefixes, str):
            prefixes = dict(img_path=prefixes)
        for key, prefix in prefixes.items():
            path = osp.join(root, prefix) if prefix else root
            if prefix and not osp.isdir(path) and not osp.isfile(path):
                raise FileNotFoundError(
                    f'{loader}: "{path}" ({key} of '
                    f'{ds.get("type", "the dataset")}) does not exist. '
                    f'Prepare the dataset as described in {DATASETS_DOC}.')
            if osp.isdir(path):
                check_data_folder_holds_files(path, loader, key, ds)
        if root and not any(prefixes.values()):
            check_data_folder_holds_files(root, loader, 'data_root', ds)
        ann = ds.get('ann_file')
        if ann and not osp.isfile(osp.join(root, ann)):
            raise FileNotFoundError(
                f'{loader}: the annotation file "{osp.join(root, ann)}" does '
                'not exist. '
                f'Prepare the dataset as described in {DATASETS_DOC}.')
