"""The last step before a Runner is built (:func:`prepare_run`) and the
building itself (:func:`build_runner`)."""
from mmengine.config import Config, ConfigDict

from ..engine.checkpoint.resume import resolve_resume
from .config_values import check_config_values
from .data_roots import check_data_roots
from .machine import adapt_to_cpu, check_launcher_env, init_cpu_distributed
from .work_dir import check_fresh_work_dir


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


def build_runner(cfg: Config):
    """The Runner of a prepared config (:func:`prepare_run`): mmengine's, or
    the config's ``runner_type``; the known notices of the OpenMMLab stack
    are hidden in its logger (:func:`das_mmseg.utils.cli.quiet_known_notices`).
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from ..utils.cli import quiet_known_notices
    runner = (
        Runner.from_cfg(cfg)
        if 'runner_type' not in cfg else RUNNERS.build(cfg))
    quiet_known_notices(runner.logger)
    return runner
