"""Effective receptive field (ERF) of a trained segmentor: where in the input
image one output pixel looks (Luo et al. 2016; RepLKNet's analysis).

    python tools/analysis_tools/erf.py CONFIG CHECKPOINT [--images N]
        [--pixel Y X] [--target sum|argmax] [--shape H W]
        [--baseline CONFIG CHECKPOINT] [--out erf.png] [--save-map erf.npy]

For each of the first N images of the test set (the test pipeline without
labels): the gradient of the chosen output pixel's logits (default the
centre; ``--target sum``: summed over the classes, default; ``argmax``: the
predicted class's logit) with respect to the normalised input image, its
absolute value summed over the colour channels; the maps are averaged over
the images. A clip model's gradient is taken with respect to the image
before the clip cell (clips an ``ImageToVideo`` step would make are rendered
on the device, differentiably, with the same policy), so a clip model and
its image baseline are measured on the same input.

Printed figures: for 20, 50 and 90 % of the gradient mass, the area of the
smallest set of pixels holding it (pixels sorted by value), as a fraction of
the image. The PNG shows log10 of the map (normalised to its maximum) with
the outlines of the 20 and 50 % sets and the output pixel. ``--baseline``
measures a second model on the same images and puts both side by side.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import das_mmseg  # noqa: E402,F401
from das_mmseg.analysis import erf as erf_lib  # noqa: E402

SHARES = erf_lib.DEFAULT_SHARES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--images', type=int, default=16, help='number of test images (N)')
    parser.add_argument(
        '--pixel',
        type=int,
        nargs=2,
        metavar=('Y', 'X'),
        help='output pixel, in the (resized) input image; default the centre')
    parser.add_argument(
        '--target',
        choices=erf_lib.TARGETS,
        default='sum',
        help=("the pixel's logits summed over the classes (default), or the "
              "predicted class's logit"))
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help=('resize every image to H x W (instead of the test pipeline\'s '
              'resize); needed when the test images differ in size'))
    parser.add_argument(
        '--baseline',
        nargs=2,
        metavar=('CONFIG', 'CHECKPOINT'),
        help='a second model measured on the same images, side by side')
    parser.add_argument('--out', default='erf.png', help='heatmap PNG')
    parser.add_argument(
        '--save-map',
        help='also save the map(s) as .npy ((H, W), or (2, H, W) with '
        '--baseline)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--json', action='store_true', help='print one JSON object')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of CONFIG, key=value')
    return parser.parse_args(argv)


def measure(config, checkpoint, args, cfg_options=None):
    """The mean ERF map of one model on the first ``args.images`` test
    images."""
    from mmseg.registry import DATASETS

    from das_mmseg.analysis.erf_data import erf_of_model, erf_pipeline
    from das_mmseg.analysis.models import build_model
    from das_mmseg.launch import load_config
    cfg = load_config(config, cfg_options)
    model = build_model(cfg, checkpoint=checkpoint, device=args.device)
    dataset_cfg = cfg.test_dataloader.dataset
    pipeline, to_video = erf_pipeline(dataset_cfg.pipeline, args.shape)
    dataset_cfg.pipeline = pipeline
    dataset = DATASETS.build(dataset_cfg)
    erf, count = erf_of_model(
        model,
        dataset,
        args.images,
        to_video=to_video,
        pixel=tuple(args.pixel) if args.pixel else None,
        target=args.target,
        batch_size=args.batch_size)
    return erf, count


def draw(maps, names, pixel, out: str) -> None:
    """Heatmaps of log10(map / max) with the outlines of the 20 and 50 %
    sets."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        1,
        len(maps),
        squeeze=False,
        figsize=(4.2 * len(maps) * maps[0].shape[1] / maps[0].shape[0] + 1,
                 4.4))
    for ax, erf, name in zip(axes[0], maps, names):
        shown = np.log10(erf / erf.max() + 1e-6)
        image = ax.imshow(shown, cmap='RdYlGn', vmin=-4, vmax=0)
        values = np.sort(erf.ravel())[::-1]
        fractions = erf_lib.area_fractions(erf, SHARES)
        # the 90 % set is ragged (many small islands): outline 20 and 50 %
        for share, style in zip(SHARES[:2], ('-', '--')):
            # the set's outline: pixels at least as large as its smallest
            level = values[int(round(fractions[share] * erf.size)) - 1]
            ax.contour(
                erf >= level,
                levels=[0.5],
                colors='k',
                linestyles=style,
                linewidths=0.8)
        ax.plot(pixel[1], pixel[0], 'b+', markersize=10)
        ax.set_title(
            f'{name}\n' + ', '.join(f'{int(s * 100)}%: {fractions[s]:.4f}'
                                    for s in SHARES),
            fontsize=8)
        ax.axis('off')
    fig.colorbar(
        image, ax=axes[0].tolist(), shrink=0.8, label='log10 |grad| / max')
    fig.savefig(out, dpi=130, bbox_inches='tight')
    plt.close(fig)


def main(argv=None) -> dict:
    args = parse_args(argv)
    runs = [(args.config, args.checkpoint, args.cfg_options)]
    if args.baseline:
        runs.append((args.baseline[0], args.baseline[1], None))
    maps, rows = [], []
    for config, checkpoint, options in runs:
        erf, count = measure(config, checkpoint, args, options)
        maps.append(erf)
        rows.append(
            dict(
                config=config,
                checkpoint=checkpoint,
                images=count,
                fractions={
                    str(s): f
                    for s, f in erf_lib.area_fractions(erf, SHARES).items()
                }))
    height, width = maps[0].shape
    pixel = tuple(args.pixel) if args.pixel else (height // 2, width // 2)
    if any(m.shape != maps[0].shape for m in maps):
        raise ValueError(f'the models see images of different sizes '
                         f'({[m.shape for m in maps]}); give --shape H W')
    draw(maps, [osp.splitext(osp.basename(r['config']))[0] for r in rows],
         pixel, args.out)
    if args.save_map:
        np.save(args.save_map, maps[0] if len(maps) == 1 else np.stack(maps))
    result = dict(
        pixel=list(pixel),
        image_size=[height, width],
        target=args.target,
        models=rows,
        out=args.out)
    if args.json:
        print(json.dumps(result))
        return result
    print(f'ERF of output pixel (y, x) = {pixel} in {height}x{width} '
          f'images, target: {args.target} of its logits, '
          f'{rows[0]["images"]} images')
    print('area fraction of the image holding p of the |gradient| mass '
          '(smallest pixel set):')
    column = max(len(osp.basename(r['config'])) for r in rows) + 2
    print(f'{"model":<{column}}' + ''.join(f'{f"{int(s * 100)}%":>10}'
                                           for s in SHARES))
    for row in rows:
        name = osp.basename(row['config'])
        print(f'{name:<{column}}' +
              ''.join(f'{row["fractions"][str(s)]:>10.4f}' for s in SHARES))
    if len(rows) == 2:
        ratios = [
            rows[0]['fractions'][str(s)] / rows[1]['fractions'][str(s)]
            for s in SHARES
        ]
        print(f'{"ratio":<{column}}' + ''.join(f'{r:>9.2f}x' for r in ratios))
    print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
