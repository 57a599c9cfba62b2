"""Train a segmentor (or a classifier from an mmpretrain config) with the
das_mmseg components registered.

Same flags as mmseg's ``tools/train.py``::

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
                          [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import logging
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

from mmengine.logging import print_log  # noqa: E402

# registers the components and checks mmcv; the safe checkpoint I/O is switched
# on here too, not only by the config's custom_imports: checkpoints are read
# before the config's Runner exists
import das_mmseg  # noqa: E402,F401
import das_mmseg.safe_io  # noqa: E402,F401
from das_mmseg.launch import CfgOptionsAction  # noqa: E402
from das_mmseg.launch import build_runner  # noqa: E402
from das_mmseg.launch import earlier_config_dump_kept  # noqa: E402
from das_mmseg.launch import load_config, prepare_run  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help=('resume from the newest intact checkpoint of the work_dir (the '
              'one last_checkpoint names, else the newest other one, with a '
              'warning)'))
    parser.add_argument(
        '--overwrite',
        action='store_true',
        default=False,
        help=('train anew into a work_dir that holds an earlier run\'s '
              'checkpoints or policy (without it, such a fresh run is '
              'refused: resume it with --resume or pick another --work-dir)'))
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help=(
            'override some settings in the used config, the key-value pair in '
            'xxx=yyy format will be merged into config file. If the value to '
            'be overwritten is a list, it should be like key="[a,b]" or '
            'key=a,b. It also allows nested list/tuple values, e.g. '
            'key="[(a,b),(c,d)]". Note that the quotation marks are necessary '
            'and that no white space is allowed.'))
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)

    cfg = load_config(args.config, args.cfg_options, args.launcher,
                      args.work_dir)

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        elif optim_wrapper != 'OptimWrapper':
            raise ValueError(
                '--amp is only supported when optim_wrapper.type is '
                f'"OptimWrapper", but the config has "{optim_wrapper}".')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    cfg.resume = args.resume
    prepare_run(cfg, overwrite=args.overwrite)

    with earlier_config_dump_kept(cfg):
        build_runner(cfg).train()


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
