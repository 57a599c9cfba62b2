"""Reading a config as the tools do: the path checked, ``--cfg-options``
applied and checked against the config's keys, the work folder chosen."""
import difflib
import logging
import os
import os.path as osp
from typing import List, Optional, Tuple

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from .work_dir import check_work_dir


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
     'model_wrapper_cfg', 'runner_type', 'das_search', 'custom_imports',
     'tta_model', 'tta_pipeline', 'compile', 'strategy',
     'activation_checkpointing', 'efficient_conv_bn_eval', 'cfg',
     'resource_limit', 'dist_params'))

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
