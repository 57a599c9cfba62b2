"""Test (and evaluate) a segmentor with the das_mmseg components registered.

Same flags as mmseg's ``tools/test.py``::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
                         [--show] [--show-dir DIR] [--tta]
                         [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
import sys

# run from a checkout without installing
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.runner import Runner  # noqa: E402

# registers the components, checks mmcv, installs the safe checkpoint loader
import das_mmseg  # noqa: E402,F401
from das_mmseg.utils.checkpoint import check_checkpoint_file  # noqa: E402
from das_mmseg.utils.launch import CfgOptionsAction  # noqa: E402
from das_mmseg.utils.launch import load_config, prepare_run  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help=(
            'if specified, the evaluation metric results will be dumped into '
            'the directory as json'))
    parser.add_argument(
        '--out',
        type=str,
        help='the directory to save output prediction for offline evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help=(
            'directory where painted images will be saved. If specified, it '
            'will be automatically saved to the work_dir/timestamp/show_dir'))
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help=(
            'override some settings in the used config, the key-value pair in '
            'xxx=yyy format will be merged into config file.'))
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='Test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            '--show/--show-dir need a visualization hook in default_hooks, '
            'e.g. "visualization=dict(type=\'SegVisualizationHook\')"')
    visualization_hook = default_hooks['visualization']
    visualization_hook['draw'] = True
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
    return cfg


def main(argv=None):
    args = parse_args(argv)

    cfg = load_config(args.config, args.cfg_options, args.launcher,
                      args.work_dir)

    cfg.load_from = check_checkpoint_file(args.checkpoint,
                                          'the CHECKPOINT argument')

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.tta:
        if 'tta_pipeline' not in cfg or 'tta_model' not in cfg:
            missing = ('tta_pipeline'
                       if 'tta_pipeline' not in cfg else 'tta_model')
            raise ValueError(
                '--tta needs `tta_pipeline` and `tta_model` in the config, '
                f'and "{args.config}" lacks {missing}.')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model

    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    prepare_run(cfg, training=False)

    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
