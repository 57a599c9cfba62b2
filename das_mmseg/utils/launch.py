"""What ``tools/train.py`` and ``tools/test.py`` check and adapt before a
Runner is built.

Every check here runs in seconds and raises before any data is loaded or any
weight is trained, so a bad path or an unsupported machine never costs hours.
"""
import contextlib
import datetime
import difflib
import inspect
import logging
import math
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.logging import print_log

from das_mmseg.datasets.checks import find_files
from .checkpoint import resolve_resume
from .io import atomic_write

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


class CfgOptionsAction(DictAction):
    """mmengine's ``--cfg-options`` parser, with a usage error naming an item
    that is not ``key=value`` (mmengine fails with ``ValueError: not enough
    values to unpack``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values or []:
            if '=' not in item or item.startswith('='):
                parser.error(f'{option_string} takes key=value items, e.g. '
                             f'train_cfg.max_iters=1000; got "{item}"')
        super().__call__(parser, namespace, values, option_string)


def _key_exists(cfg, key: str) -> Tuple[bool, str, list]:
    """Whether a dotted ``--cfg-options`` key exists in a config; else the
    deepest existing prefix and the keys found there."""
    node, walked = cfg, []
    for part in key.split('.'):
        if hasattr(node, 'keys') and part in node:  # ConfigDict or Config
            node = node[part]
        elif (isinstance(node, (list, tuple)) and part.isdigit()
              and int(part) < len(node)):
            node = node[int(part)]
        else:
            siblings = list(node.keys()) if hasattr(node, 'keys') else []
            return False, '.'.join(walked), siblings
        walked.append(part)
    return True, key, []


#: the top-level config keys something reads after the file is loaded:
#: mmengine's ``Runner.from_cfg`` and ``Runner``, mmseg's and our tools
RUNTIME_KEYS = frozenset(
    ('model', 'work_dir', 'train_dataloader', 'val_dataloader',
     'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
     'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
     'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
     'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
     'visualizer', 'default_scope', 'randomness', 'experiment_name',
     'model_wrapper_cfg', 'runner_type', 'custom_imports', 'tta_model',
     'tta_pipeline', 'compile', 'strategy', 'activation_checkpointing',
     'efficient_conv_bn_eval', 'cfg', 'resource_limit', 'dist_params'))

#: words too common to tie a variable to a key; words that mean the same
_COMMON_WORDS = frozenset(('num', 'max', 'min', 'cfg', 'type'))
_SYNONYMS = dict(frames=('segments', ), segments=('frames', ))


def _uses_of(cfg: Config, name: str, value) -> List[str]:
    """The keys, below the top-level keys something reads, that a config
    variable ``name`` (with ``value``) most likely set: those of the same
    name, and those of the same value whose name shares a word with it
    (``num_frames`` -> ``model.backbone.num_segments``, ``crop_size`` ->
    ``model.data_preprocessor.size``)."""
    words = set(name.split('_')) - _COMMON_WORDS
    for word in list(words):
        words.update(_SYNONYMS.get(word, ()))
    found = []

    def walk(node, path):
        items = (
            node.items() if hasattr(node, 'items') else
            enumerate(node) if isinstance(node, (list, tuple)) else ())
        for key, child in items:
            here = f'{path}.{key}'
            named = isinstance(key, str) and (key == name
                                              or words & set(key.split('_')))
            if named and child == value:
                found.append(here)
            elif hasattr(child, 'items') or isinstance(child, (list, tuple)):
                walk(child, here)

    for top in RUNTIME_KEYS:
        if top in cfg:
            walk(cfg[top], top)
    return sorted(found)


def check_cfg_options(cfg: Config, cfg_options: Optional[dict]) -> None:
    """Check the ``--cfg-options`` keys against the config.

    - A top-level key that nothing reads after loading (a variable of the
      config file, ``num_frames``, ``crop_size``, ``max_iters``: the file
      used it when it was loaded, so changing it changes nothing) is
      refused, naming the keys it was used for.
    - Any other key the config does not have is named in a warning, with the
      closest existing keys: mmengine adds such a key silently; when it is a
      typo (``train_cfg.max_iter``) the setting the user meant is never
      changed, but a new key can also be legitimate (an argument the config
      leaves at its default).

    Raises:
        ValueError: A config variable was overridden.
    """
    for key in cfg_options or {}:
        top = key.split('.')[0]
        if top in cfg and top not in RUNTIME_KEYS:
            uses = _uses_of(cfg, top, cfg[top])
            instead = ('set the keys it was used for instead (found by '
                       'name and value; the file may use it elsewhere too): ' +
                       ', '.join(f'{use}={cfg_options[key]}'
                                 for use in uses) if uses else
                       'set the keys it was used for instead (see the '
                       'config file)')
            raise ValueError(
                f'--cfg-options {key}: "{top}" is a variable of the config '
                'file, read when the file was loaded; changing it now would '
                f'change nothing (the run would keep {top}={cfg[top]!r} '
                f'while the dumped config said otherwise). To change it, '
                f'{instead}.')
        exists, prefix, siblings = _key_exists(cfg, key)
        if exists:
            continue
        leaf = key[len(prefix):].lstrip('.').split('.')[0]
        close = difflib.get_close_matches(leaf, siblings, n=2, cutoff=0.8)
        where = f'"{prefix}"' if prefix else 'the top level'
        hint = (' Did you mean ' + ' or '.join(
            (f'{prefix}.{c}' if prefix else c)
            for c in close) + '?' if close else '')
        print_log(
            f'--cfg-options {key}: the config has no key "{leaf}" at {where}, '
            'so this adds a new one, which only takes effect if the '
            f'component reads it.{hint}',
            logger='current',
            level=logging.WARNING)


def check_work_dir(work_dir: str, source: str) -> None:
    """Raise a clear error when the work folder cannot be created or written
    (the Runner would fail after building the model and data).

    Args:
        work_dir (str): The folder.
        source (str): Where it came from (``'--work-dir'``, ...).
    """
    if osp.exists(work_dir) and not osp.isdir(work_dir):
        raise NotADirectoryError(
            f'the work folder "{work_dir}" ({source}) is a file; pass a '
            'folder to --work-dir')
    existing = osp.abspath(work_dir)
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(
            f'the work folder "{work_dir}" ({source}) cannot be written: '
            f'"{existing}" is not writable by this user. Pass a writable '
            'folder with --work-dir.')


#: files of a run that a fresh run into the same folder would overwrite
RUN_FILES = ('last_checkpoint', 'das_policy.json')


def check_fresh_work_dir(cfg: Config) -> None:
    """Refuse a fresh run (no ``--resume``) into a work folder that holds
    an earlier run's checkpoints or policy: mmengine would overwrite its
    ``iter_N.pth``, ``das_policy.json`` and ``last_checkpoint`` without a
    word.

    Args:
        cfg (Config): Reads ``work_dir`` and ``resume``.

    Raises:
        FileExistsError: Names the folder, what it holds and the three ways
            on: ``--resume``, another ``--work-dir``, ``--overwrite``.
    """
    work_dir = cfg.get('work_dir')
    if cfg.get('resume') or not work_dir or not osp.isdir(work_dir):
        return
    found = sorted(
        name for name in os.listdir(work_dir)
        if name.endswith('.pth') or name in RUN_FILES)
    if not found:
        return
    shown = ', '.join(
        found[:6]) + (f' and {len(found) - 6} more' if len(found) > 6 else '')
    raise FileExistsError(
        f'the work folder "{work_dir}" holds an earlier run ({shown}), which '
        'a fresh run would overwrite. Continue that run with --resume, train '
        'into another folder with --work-dir (e.g. the second stage of a '
        'two-stage search: mode=\'train\' reads the policy file from the '
        'first stage\'s folder), or pass --overwrite to train anew into this '
        'one.')


LAUNCHER_ENV = dict(
    pytorch=(('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
             'start it with torchrun, e.g. tools/dist_train.sh CONFIG GPUS'),
    slurm=(('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
           'start it with srun, e.g. tools/slurm_train.sh'),
    mpi=(('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
          'OMPI_COMM_WORLD_LOCAL_RANK', 'MASTER_ADDR'),
         'start it with mpirun, and set MASTER_ADDR'))


def check_launcher_env(launcher: str) -> None:
    """Raise a clear error when ``--launcher`` is given but the process was
    not started by that launcher (torch or mmengine would fail with a
    ``KeyError`` or wait for peers that never come)."""
    if launcher not in LAUNCHER_ENV:
        return
    names, how = LAUNCHER_ENV[launcher]
    if launcher == 'slurm':
        names = names[:3]  # MASTER_PORT has a default there
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher}: the environment variable(s) '
            f'{", ".join(missing)} that this launcher sets are missing, so '
            f'this process was not started by it: {how}, or drop --launcher '
            'for one process.')


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
    training the schedule lengths, the learning rate, crop sizes, and a batch
    whose input tensor alone exceeds the machine's memory."""
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
    _check_batch_fits(cfg)


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
    frames = (model.get('clip_cell') or {}).get('num_frames') or 1
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


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none',
                work_dir: Optional[str] = None,
                check_writable: bool = True) -> Config:
    """Load a config as mmseg's tools do: CLI overrides merged, ``work_dir``
    from CLI > config > config name.

    ``--cfg-options`` keys the config lacks are named in a warning, and
    (unless ``check_writable`` is False) the work folder must be writable.
    """
    cfg = Config.fromfile(check_config_path(path))
    cfg.launcher = launcher
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir, source = work_dir, '--work-dir'
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
        source = 'the default for the config'
    else:
        source = f'work_dir of {path}'
    if check_writable:
        check_work_dir(cfg.work_dir, source)
    return cfg


def _add_default_hook(cfg: Config, name: str, hook: dict) -> None:
    """``default_hooks[name] = hook`` unless the config names it (None in
    the config leaves it out)."""
    hooks = cfg.get('default_hooks')
    if hooks is None:
        cfg.default_hooks = hooks = ConfigDict()
    if name not in hooks:
        hooks[name] = hook
    elif hooks[name] is None:
        hooks.pop(name)  # mmengine refuses None for a new name


def check_loaded_checkpoints(cfg: Config) -> None:
    """Add :class:`CheckpointFitHook` to the config's ``default_hooks``
    (as ``checkpoint_fit``) unless it has one: every checkpoint the Runner
    loads (``load_from``, ``--resume``, ``tools/test.py``) is checked against
    the model first. ``default_hooks.checkpoint_fit=None`` leaves it out;
    ``...allow_partial=True`` loads any checkpoint."""
    _add_default_hook(cfg, 'checkpoint_fit', dict(type='CheckpointFitHook'))


def check_data_before_start(cfg: Config) -> None:
    """Add :class:`DataPreflightHook` to a segmentation config's
    ``default_hooks`` (as ``data_preflight``) unless it has one: the val and
    test files are decoded and checked, and the training files' headers
    read, before the first iteration (and the test files before testing).
    ``default_hooks.data_preflight=None`` leaves it out."""
    if cfg.get('default_scope', 'mmseg') == 'mmseg':
        _add_default_hook(cfg, 'data_preflight',
                          dict(type='DataPreflightHook'))


def prepare_run(cfg: Config,
                training: bool = True,
                overwrite: bool = False) -> None:
    """The last step before building a Runner: check the launcher, dataset
    folders and config values, choose the checkpoint ``--resume`` continues
    from (and check ``load_from``), check every checkpoint the run loads
    against the model (:func:`check_loaded_checkpoints`), check the data
    files before the first iteration
    (:func:`check_data_before_start`), adapt to a CPU-only machine, init
    gloo.

    Args:
        cfg (Config): The config, changed in place.
        training (bool): False for ``tools/test.py``: the training settings
            are not checked.
        overwrite (bool): Let a fresh training run write into a work folder
            that holds an earlier run (``tools/train.py --overwrite``);
            without it such a run is refused (:func:`check_fresh_work_dir`).
    """
    check_launcher_env(cfg.get('launcher', 'none'))
    if training and not overwrite:
        check_fresh_work_dir(cfg)
    check_data_roots(cfg)
    check_config_values(cfg, training)
    resolve_resume(cfg)
    check_loaded_checkpoints(cfg)
    check_data_before_start(cfg)
    adapt_to_cpu(cfg)
    dist_cfg = (cfg.get('env_cfg') or {}).get('dist_cfg') or {}
    init_cpu_distributed(cfg.get('launcher', 'none'), dist_cfg.get('timeout'))


def init_cpu_distributed(launcher: str,
                         timeout: Optional[float] = None) -> None:
    """Initialise the gloo process group for a CPU-only ``pytorch`` launch.

    mmengine's own ``init_dist`` calls ``torch.cuda.set_device`` first, which
    fails without a GPU; once the group exists the Runner skips its own
    initialisation.

    Args:
        launcher (str): The launcher.
        timeout (float, optional): Seconds a collective waits for a rank
            before the job fails (``env_cfg.dist_cfg.timeout``, as mmengine
            takes it on GPUs); None: torch's default (30 minutes).
    """
    if launcher != 'pytorch' or torch.cuda.is_available(
    ) or torch.distributed.is_initialized():
        return
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch.distributed.init_process_group(backend='gloo', **kwargs)


def build_runner(cfg: Config):
    """The Runner of a prepared config (:func:`prepare_run`): mmengine's, or
    the config's ``runner_type``; the known notices of the OpenMMLab stack
    are hidden in its logger (:func:`das_mmseg.utils.cli.quiet_known_notices`).
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from .cli import quiet_known_notices
    runner = (
        Runner.from_cfg(cfg)
        if 'runner_type' not in cfg else RUNNERS.build(cfg))
    quiet_known_notices(runner.logger)
    return runner


@contextlib.contextmanager
def earlier_config_dump_kept(cfg: Config) -> Iterator[None]:
    """Put the earlier run's config dump back when this run fails before
    saving a checkpoint.

    A Runner writes its config to ``<work_dir>/<config file name>`` when it
    is built; a resume refused at its start (a changed learning rate, a
    checkpoint that does not fit) would otherwise leave the refused settings
    in the folder of the run it refused to touch.
    """
    work_dir, name = cfg.get('work_dir'), getattr(cfg, 'filename', None)
    path = osp.join(work_dir, osp.basename(name)) if work_dir and name \
        else None

    def checkpoints():
        return sorted(f for f in os.listdir(work_dir)
                      if f.endswith('.pth')) if osp.isdir(work_dir) else []

    earlier = None
    if path and osp.isfile(path):
        with open(path, 'rb') as f:
            earlier = f.read()
        saved = checkpoints()
    try:
        yield
    except BaseException:
        if earlier is not None and checkpoints() == saved:
            atomic_write(path, earlier)
        raise
