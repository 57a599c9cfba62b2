"""Read every image and label map of a config's split and report each file
training or evaluation could not use.

::

    python tools/analysis_tools/check_dataset.py CONFIG [--split train]
        [--workers N] [--cfg-options k=v ...]

Per file it reports: empty, truncated (cut short: no JPEG/PNG end marker),
corrupt (the decoder reports damaged data but returns pixels), unreadable,
label maps that are not one class id per pixel, whose size differs from the
image, or that hold values outside the classes and the ignore index (after the
dataset's ``reduce_zero_label`` and ``label_map``, as mmseg applies them).
Exit status 1 when it found a problem, 0 otherwise.
"""
import argparse
import os.path as osp
import sys

# run from a checkout without installing
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from mmengine.config import DictAction  # noqa: E402

import das_mmseg  # noqa: E402,F401
from das_mmseg.datasets.checks import check_config_split  # noqa: E402
from das_mmseg.launch import check_data_roots, load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Check every image and label map of a dataset split')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--split',
        choices=['train', 'val', 'test'],
        default='train',
        help='which dataloader\'s dataset to check (default: train)')
    parser.add_argument(
        '--workers',
        type=int,
        default=0,
        help='worker processes (default 0: check in this process)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'train_dataloader.dataset.data_root=PATH')
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error(f'--workers must be >= 0, got {args.workers}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, check_writable=False)
    check_data_roots(cfg, loaders=(f'{args.split}_dataloader', ))
    problems, summary = check_config_split(cfg, args.split, args.workers)
    for note in summary['notes']:
        print(f'note: {note}')
    for problem in problems:
        print(problem)
    n, seconds = summary['samples'], summary['seconds']
    files = len({p.path for p in problems})
    print(f'{args.split}: {n} samples checked in {seconds:.1f} s '
          f'({n / max(seconds, 1e-9):.0f} images/s), classes '
          f'0..{summary["num_classes"] - 1}, ignore index '
          f'{summary["ignore_index"]}: ' +
          (f'{len(problems)} problem(s) in {files} file(s)'
           if problems else 'no problems'))
    return 1 if problems else 0


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    sys.exit(run_main(main))
