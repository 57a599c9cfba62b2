"""FLOPs and parameters of a model beside its image baseline.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W]
        [--checkpoint CKPT] [--baseline CONFIG] [--relaxed]
        [--cfg-options k=v ...]

Counts one forward pass of one image of ``--shape`` (default: the data
preprocessor's ``size``, else 512x512) as mmseg's ``get_flops.py`` does, one
multiply-add = one FLOP, but on the ops the model really runs: a clip model
is counted with its T frames through the backbone, its clip cell's warps and
its temporal modules (see ``das_mmseg/analysis/complexity.py`` for what is
counted). The baseline is the image twin (no cell, T = 1, no temporal
modules) unless ``--baseline`` names another config; the table gives both and
their ratio.

A clip cell counts with a discrete policy, as a trained model runs: the
checkpoint's, the config's, or (for a relaxed cell) the one its α derives
now; ``--relaxed`` counts the search-time mixture of every op on every edge
instead.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import das_mmseg  # noqa: E402,F401
from das_mmseg.analysis import count_flops, format_count  # noqa: E402
from das_mmseg.analysis.models import load_model_and_twin  # noqa: E402

PARTS = ('clip cell', 'backbone', 'temporal modules', 'neck',
         'heads and fusion')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=None,
        help='input image size: H W, or one number for a square')
    parser.add_argument('--checkpoint', help='checkpoint of the model')
    parser.add_argument(
        '--baseline', help='config of the baseline (default: the image twin)')
    parser.add_argument(
        '--relaxed',
        action='store_true',
        help='count a relaxed clip cell as it is (the search-time mixture)')
    parser.add_argument(
        '--json', action='store_true', help='print one JSON object')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def input_shape(cfg, shape) -> tuple:
    if shape is None:
        size = cfg.model.get('data_preprocessor', {}).get('size')
        shape = list(size) if size else [512, 512]
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f'--shape takes H W or one size, got {shape}')
    return tuple(shape)


def prepare_cell(model, relaxed: bool) -> str:
    """Give a relaxed cell its derived policy unless ``relaxed``; describe
    what the cell renders."""
    cell = getattr(model, 'clip_cell', None)
    if cell is None:
        return '-'
    if cell.policy is None and not relaxed:
        cell.set_policy(cell.discretize())
        return 'policy derived from α now'
    return 'relaxed mixture' if cell.policy is None else 'its policy'


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg, model, twin, origin = load_model_and_twin(
        args.config,
        checkpoint=args.checkpoint,
        baseline=args.baseline,
        cfg_options=args.cfg_options)
    height, width = input_shape(cfg, args.shape)
    cell = prepare_cell(model, args.relaxed)
    image = torch.rand(1, 3, height, width)
    rows = {'model': count_flops(model, lambda: model(image))}
    if twin is not None:
        rows['baseline'] = count_flops(twin, lambda: twin(image))
    result = dict(
        config=args.config,
        input_shape=[3, height, width],
        frames=getattr(model, 'num_frames', 1),
        clip_cell=cell,
        baseline=origin,
        flops={
            k: v.flops
            for k, v in rows.items()
        },
        params={
            k: v.params
            for k, v in rows.items()
        },
        parts={
            k: v.parts
            for k, v in rows.items()
        })
    if twin is not None:
        result['ratio'] = rows['model'].flops / rows['baseline'].flops
    if args.json:
        print(json.dumps(result))
        return result
    line = '=' * 78
    print(line)
    print(f'Config: {args.config}\nInput shape: {(3, height, width)}, '
          f'T = {result["frames"]}, clip cell: {cell}\n{origin}')
    print(f'{"":<10}{"FLOPs":>10}{"params":>10}' +
          ''.join(f'{p:>12}'
                  for p in ('cell', 'backbone', 'temporal', 'neck', 'heads')))
    for name, c in rows.items():
        print(f'{name:<10}{format_count(c.flops):>10}'
              f'{format_count(c.params):>10}' +
              ''.join(f'{format_count(c.parts[p]):>12}' for p in PARTS))
    if twin is not None:
        print(f'ratio model / baseline: {result["ratio"]:.2f}x FLOPs, '
              f'{rows["model"].params / rows["baseline"].params:.2f}x '
              'params')
    print(line)
    print('FLOPs: multiply-adds of convolutions, matrix products, '
          'grid_sample and bilinear upsampling (element-wise ops, '
          'normalisation and pooling not counted), as mmseg\'s '
          'get_flops.py.')
    return result


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
