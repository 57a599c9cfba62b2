"""Test (and evaluate) a segmentor, or a classifier of an mmpretrain config,
with the das_mmseg components registered.

The flags of mmseg's ``tools/test.py``; for an mmpretrain config they mean
what mmpretrain's do (``--out`` a pickle file of the predictions,
``--show-dir`` the VisualizationHook's folder, ``--tta`` flip averaging when
the config has no ``tta_model``)::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR|FILE]
                         [--show] [--show-dir DIR] [--interval N] [--tta]
                         [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
import sys
import warnings

# setuptools' deprecation notice for pkg_resources, printed by the OpenMMLab
# packages when they are imported, says nothing about this run
warnings.filterwarnings(
    'ignore', message='pkg_resources is deprecated', category=UserWarning)

# run from a checkout without installing
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

# registers the components and checks mmcv; the safe checkpoint I/O is switched
# on here too, not only by the config's custom_imports: checkpoints are read
# before the config's Runner exists
import das_mmseg  # noqa: E402,F401
import das_mmseg.safe_io  # noqa: E402,F401
from das_mmseg.apis.test import build_test_config, run_test  # noqa: E402
from das_mmseg.launch import CfgOptionsAction  # noqa: E402


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
        help=('segmentation: the directory to save output prediction for '
              'offline evaluation (one PNG of class ids per image); '
              'classification: the pickle file to dump the predictions to'))
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help=('directory where painted images will be saved (segmentation: '
              'under DIR/vis_data/vis_image)'))
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='draw every INTERVAL-th test batch (--show, --show-dir)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help=(
            'override some settings in the used config, the key-value pair in '
            'xxx=yyy format will be merged into config file, e.g. '
            'model.clip_cell.policy=OTHER.json to evaluate a DAS checkpoint '
            'with another policy'))
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


def main(argv=None):
    args = parse_args(argv)
    cfg = build_test_config(
        args.config,
        args.checkpoint,
        work_dir=args.work_dir,
        out=args.out,
        show=args.show,
        show_dir=args.show_dir,
        wait_time=args.wait_time,
        interval=args.interval,
        tta=args.tta,
        cfg_options=args.cfg_options,
        launcher=args.launcher)
    return run_test(cfg)


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
