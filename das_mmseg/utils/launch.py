"""What ``tools/train.py`` and ``tools/test.py`` check and adapt before a
Runner is built.

Every check here runs in seconds and raises before any data is loaded or any
weight is trained, so a bad path or an unsupported machine never costs hours.
"""
import logging
import os
import os.path as osp
from typing import Iterator, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

DATASETS_DOC = 'README.md, section "Datasets"'


def check_config_path(path: str) -> str:
    """Raise a clear error when the config file does not exist; return the
    path."""
    if not osp.isfile(path):
        hint = ''
        if not path.endswith('.py') and osp.isfile(path + '.py'):
            hint = f' Did you mean "{path}.py"?'
        raise FileNotFoundError(
            f'config file "{path}" does not exist (working directory: '
            f'{os.getcwd()}).{hint} The project configs are under configs/, '
            'e.g. configs/smoke_camvid_sample.py.')
    return path


def _iter_datasets(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """Yield (dataloader name, dataset cfg) for every dataset a config will
    build, unwrapping dataset wrappers."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
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


def check_data_roots(cfg: Config) -> None:
    """Raise a clear error, before the Runner starts, when a dataset folder of
    the config does not exist.

    Only local paths are checked (a ``backend_args`` for a remote file backend
    skips the check).
    """
    for loader, ds in _iter_datasets(cfg):
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
        ann = ds.get('ann_file')
        if ann and not osp.isfile(osp.join(root, ann)):
            raise FileNotFoundError(
                f'{loader}: the annotation file "{osp.join(root, ann)}" does '
                'not exist. '
                f'Prepare the dataset as described in {DATASETS_DOC}.')


def _replace_sync_bn(node) -> int:
    """Replace ``SyncBN`` by ``BN`` in every norm config, in place; return how
    many were replaced."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_sync_bn(value)
    return count


def adapt_to_cpu(cfg: Config) -> None:
    """Make a GPU config run on a machine without CUDA, in place. A no-op when
    CUDA is available.

    - ``SyncBN`` needs CUDA; plain ``BN`` computes the same per-process
      statistics on one process (it differs across processes under DDP, which
      is the accepted price of a CPU run).
    - Distributed runs use the ``gloo`` backend instead of ``nccl``, and DDP
      wraps a CPU module (no device ids).
    - mixed precision raises at once: mmengine's ``AmpOptimWrapper`` supports
      accelerators only.
    """
    if torch.cuda.is_available():
        return
    if (cfg.get('optim_wrapper') or {}).get('type') == 'AmpOptimWrapper':
        raise RuntimeError(
            'mixed precision (--amp, or optim_wrapper.type="AmpOptimWrapper") '
            'needs a CUDA device, and '
            'this machine has none: train in float32 here (drop --amp, or set '
            'optim_wrapper.type="OptimWrapper").')
    if _replace_sync_bn(cfg.get('model')):
        print_log(
            'No CUDA device: SyncBN layers are built as BN.',
            logger='current',
            level=logging.WARNING)
    if cfg.get('launcher', 'none') != 'none':
        cfg.setdefault('env_cfg', ConfigDict())
        cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
        cfg.env_cfg.dist_cfg.backend = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
            type='MMDistributedDataParallel')
        wrapper.setdefault('broadcast_buffers', False)
        wrapper['device_ids'] = None  # CPU modules take no device ids
        cfg.model_wrapper_cfg = wrapper


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none',
                work_dir: Optional[str] = None) -> Config:
    """Load a config as mmseg's tools do: CLI overrides merged, ``work_dir``
    from CLI > config > config name."""
    cfg = Config.fromfile(check_config_path(path))
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def prepare_run(cfg: Config) -> None:
    """The last step before building a Runner: check dataset folders, adapt to
    a CPU-only machine, init gloo."""
    check_data_roots(cfg)
    adapt_to_cpu(cfg)
    init_cpu_distributed(cfg.get('launcher', 'none'))


def init_cpu_distributed(launcher: str) -> None:
    """Initialise the gloo process group for a CPU-only ``pytorch`` launch.

    mmengine's own ``init_dist`` calls ``torch.cuda.set_device`` first, which
    fails without a GPU; once the group exists the Runner skips its own
    initialisation.
    """
    if launcher != 'pytorch' or torch.cuda.is_available(
    ) or torch.distributed.is_initialized():
        return
    torch.distributed.init_process_group(backend='gloo')
