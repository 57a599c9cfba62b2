"""The values of a config that would fail only hours into a run, checked
before it starts: lengths, intervals, crop sizes and whether a batch fits in
memory; and that a searchable clip cell has a search to train it."""
import math
import os
from typing import Optional, Tuple

import torch
from mmengine.config import Config

from ..engine.runner.search_config import DAS_LOOPS
from .data_roots import LOADERS


def _positive_int(value, key: str, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(
            f'{key} = {value!r}: expected an integer >= {low}. Fix the config '
            f'or pass --cfg-options {key}=...')


def _pairs(value, key: str) -> Optional[Tuple[int, int]]:
    """(H, W) of an int or a pair of positive ints; None when absent."""
    if value is None:
        return None
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f'{key} = {value!r}: expected (height, width)')
    for v in pair:
        _positive_int(v, key)
    return pair


def memory_bytes() -> Tuple[int, str]:
    """The memory a batch must fit in: the first GPU's when CUDA is
    available, else the machine's RAM."""
    if torch.cuda.is_available():
        total = torch.cuda.get_device_properties(0).total_memory
        return total, 'GPU memory'
    return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES'), 'RAM'


def check_config_values(cfg: Config, training: bool = True) -> None:
    """Raise a clear error for config values that cannot work, before any
    data or weight is touched: dataloader batch sizes and workers, and for
    training the schedule lengths, the learning rate, crop sizes, a batch
    whose input tensor alone exceeds the machine's memory, and a searchable
    clip cell without a search (:func:`_check_search_configured`)."""
    for loader in LOADERS:
        spec = cfg.get(loader)
        if not spec:
            continue
        _positive_int(spec.get('batch_size', 1), f'{loader}.batch_size')
        _positive_int(
            spec.get('num_workers', 0),
            f'{loader}.num_workers',
            allow_zero=True)
    if not training:
        return
    train_cfg = cfg.get('train_cfg') or {}
    for key in ('max_iters', 'max_epochs', 'val_interval', 'val_begin'):
        if train_cfg.get(key) is not None:
            _positive_int(
                train_cfg[key],
                f'train_cfg.{key}',
                allow_zero=key == 'val_begin')
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    lr = optimizer.get('lr')
    if lr is not None and (not isinstance(lr, (int, float))
                           or not math.isfinite(lr) or lr < 0):
        raise ValueError(
            f'optim_wrapper.optimizer.lr = {lr!r}: expected a finite number '
            '>= 0')
    _check_search_configured(cfg)
    _check_batch_fits(cfg)


def _check_search_configured(cfg: Config) -> None:
    """Refuse a clip cell without a policy (searchable: α decides its
    clip) trained by a loop that never trains α nor derives a policy; the
    run would train and test a uniform mixture of every op. A config lists a
    search base (``das_search``) beside its schedule, names a DAS loop, or
    gives the cell a policy."""
    model = cfg.get('model') or {}
    cell = model.get('clip_cell') if hasattr(model, 'get') else None
    if not hasattr(cell, 'get') or cell.get('policy') is not None:
        return
    loop = (cfg.get('train_cfg') or {}).get('type')
    if 'das_search' in cfg or loop in DAS_LOOPS.values():
        return
    raise ValueError(
        f'model.clip_cell has no policy (its α is to be searched), but '
        f'train_cfg.type={loop!r} never searches it and the config has no '
        'das_search: list a search base beside the schedule (_base_ += '
        "['<configs>/_base_/search/das_first_order.py']), or give the cell "
        'a policy (model.clip_cell.policy=<das_policy.json>)')


def _check_batch_fits(cfg: Config) -> None:
    """Refuse a training batch whose input tensor alone (float32, every
    frame) is larger than the machine's memory."""
    loader = cfg.get('train_dataloader') or {}
    crops = []
    for step in (loader.get('dataset') or {}).get('pipeline') or []:
        if isinstance(step, dict) and 'crop_size' in step:
            crops.append((_pairs(step['crop_size'],
                                 f'the {step.get("type")} crop_size'),
                          f'crop_size of {step.get("type")}'))
    model = cfg.get('model') or {}
    pad = _pairs((model.get('data_preprocessor') or {}).get('size'),
                 'model.data_preprocessor.size')
    if pad:
        crops.append((pad, 'model.data_preprocessor.size'))
    if not crops:
        return
    (height, width), source = max(crops, key=lambda c: c[0][0] * c[0][1])
    # T, where the clip model states it (the cell's own, in configs of
    # earlier versions)
    frames = model.get('num_frames') or (model.get('clip_cell')
                                         or {}).get('num_frames') or 1
    batch = loader.get('batch_size', 1)
    need = batch * frames * 3 * height * width * 4
    have, kind = memory_bytes()
    if need > have:
        raise ValueError(
            f'a training batch cannot fit: train_dataloader.batch_size '
            f'{batch} x {frames} frame(s) x 3 x {height} x {width} '
            f'({source}) float32 is {need / 2**30:.1f} GiB for the input '
            f'alone, more than this machine\'s {have / 2**30:.1f} GiB of '
            f'{kind}. Reduce the crop size or the batch size.')
