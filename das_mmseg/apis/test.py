"""What ``tools/test.py`` does, as functions: the test config of a checkpoint
(segmentation configs the mmseg way, mmpretrain configs the mmpretrain way)
and the test run.

    cfg = build_test_config('configs/das_demo.py', 'work_dirs/demo/last.pth',
                            out='work_dirs/demo/preds')
    metrics = run_test(cfg)   # {'aAcc': ..., 'mIoU': ..., 'mAcc': ...}
"""
import copy
import logging
import os
from typing import Optional

from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from das_mmseg.engine.checkpoint import check_checkpoint_file
from das_mmseg.launch import build_runner, load_config, prepare_run


def is_classification(cfg: Config) -> bool:
    """Whether a config is an mmpretrain (classification) config: its
    registry scope is ``'mmpretrain'``."""
    return cfg.get('default_scope') == 'mmpretrain'


def _segmentation_tta(cfg: Config, source: str) -> None:
    missing = [
        key for key in ('tta_pipeline', 'tta_model') if not cfg.get(key)
    ]
    if missing:
        raise ValueError(
            f'--tta needs `tta_pipeline` and `tta_model` in the config, and '
            f'"{source}" lacks {" and ".join(missing)} (mmseg\'s '
            'default_runtime.py defines tta_model = dict(type='
            '"SegTTAModel"); the dataset base defines tta_pipeline).')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def _classification_tta(cfg: Config) -> None:
    """mmpretrain's ``--tta``: the config's ``tta_model``/``tta_pipeline``,
    else scores averaged over the image and its horizontal flip."""
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        pipeline = cfg.test_dataloader.dataset.pipeline
        cfg.tta_pipeline = copy.deepcopy(pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[
                dict(type='RandomFlip', prob=1.),
                dict(type='RandomFlip', prob=0.)
            ], [pipeline[-1]]])
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def _segmentation_show(cfg: Config, show: bool, show_dir: Optional[str],
                       wait_time: float, interval: int) -> None:
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise RuntimeError(
            '--show/--show-dir need a visualization hook in default_hooks, '
            'e.g. visualization=dict(type="SegVisualizationHook")')
    hook['draw'] = True
    hook['interval'] = interval
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        cfg.visualizer['save_dir'] = show_dir


def _classification_show(cfg: Config, show: bool, show_dir: Optional[str],
                         wait_time: float, interval: int) -> None:
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise RuntimeError(
            '--show/--show-dir need a visualization hook in default_hooks, '
            'e.g. visualization=dict(type="VisualizationHook")')
    hook['enable'] = True
    hook['show'] = show
    hook['wait_time'] = wait_time
    hook['out_dir'] = show_dir
    hook['interval'] = interval


def _add_metric(cfg: Config, metric: dict) -> None:
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator.metrics = list(evaluator.metrics) + [metric]
    elif isinstance(evaluator, (list, tuple)):
        cfg.test_evaluator = list(evaluator) + [metric]
    else:
        cfg.test_evaluator = [evaluator, metric]


def build_test_config(config: str,
                      checkpoint: str,
                      work_dir: Optional[str] = None,
                      out: Optional[str] = None,
                      show: bool = False,
                      show_dir: Optional[str] = None,
                      wait_time: float = 2,
                      interval: int = 1,
                      tta: bool = False,
                      cfg_options: Optional[dict] = None,
                      launcher: str = 'none') -> Config:
    """The config ``tools/test.py`` runs: ``config`` set up to evaluate
    ``checkpoint`` on its test set.

    Segmentation configs get mmseg's meaning of the flags, mmpretrain
    configs (``default_scope = 'mmpretrain'``) mmpretrain's.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file (weights and, for a clip model, the
            cell's policy).
        work_dir (str, optional): Where logs and metrics go; default
            ``work_dirs/<config name>``.
        out (str, optional): Segmentation: a folder for one PNG of predicted
            class ids per image (``<image name>.png``, the test evaluator's
            ``output_dir``). Classification: a pickle file of the predictions
            (mmengine's ``DumpResults``).
        show (bool): Show the predictions in a window.
        show_dir (str, optional): Save the painted predictions there
            (segmentation: under ``<show_dir>/vis_data/vis_image``).
        wait_time (float): Seconds each shown image stays.
        interval (int): Draw every ``interval``-th test batch (mmseg's
            ``SegVisualizationHook`` alone draws every 50th).
        tta (bool): Test-time augmentation (the config's ``tta_pipeline`` and
            ``tta_model``; classification falls back to flip averaging as
            mmpretrain's ``tools/test.py``).
        cfg_options (dict, optional): Overrides, merged first.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        Config: Ready for :func:`run_test`.
    """
    check_checkpoint_file(checkpoint, 'the CHECKPOINT argument')
    cfg = load_config(config, cfg_options, launcher, work_dir)
    cfg.load_from = checkpoint
    classification = is_classification(cfg)
    if classification and tta and (show or show_dir):
        # its VisualizationHook reads one image tensor per sample, which a
        # TTA batch (one tensor per view) does not have
        raise ValueError(
            'mmpretrain\'s VisualizationHook cannot draw test-time augmented '
            'batches: use --show/--show-dir without --tta')
    if show_dir and launcher != 'none':
        print_log(
            '--show-dir in a distributed test: mmengine\'s visualizer draws '
            'on the main process only, so only its share of the test images '
            'is painted (--out writes every prediction)',
            logger='current',
            level=logging.WARNING)
    if show or show_dir:
        (_classification_show if classification else _segmentation_show)(
            cfg, show, show_dir, wait_time, interval)
    if tta:
        if classification:
            _classification_tta(cfg)
        else:
            _segmentation_tta(cfg, config)
    if out is not None:
        if classification:
            _add_metric(cfg, dict(type='DumpResults', out_file_path=out))
        else:
            evaluators = cfg.test_evaluator
            for evaluator in (evaluators if isinstance(
                    evaluators, (list, tuple)) else [evaluators]):
                evaluator['output_dir'] = out
                evaluator['keep_results'] = True
            # IoUMetric creates output_dir on the main process only, and under
            # dist_test.sh another rank can save its first PNG before that
            os.makedirs(out, exist_ok=True)
    return cfg


def run_test(cfg: Config) -> dict:
    """Evaluate a :func:`build_test_config` config: the checks of
    :func:`das_mmseg.launch.prepare_run` (those of a test run), then
    the Runner's test loop.

    Returns:
        dict: The test metrics, e.g. ``{'aAcc': .., 'mIoU': .., 'mAcc': ..}``
        or ``{'accuracy/top1': ..}``.
    """
    prepare_run(cfg, training=False)
    return build_runner(cfg).test()
