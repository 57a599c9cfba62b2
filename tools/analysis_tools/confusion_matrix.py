"""Confusion matrix of a segmentor on its test set.

    python tools/analysis_tools/confusion_matrix.py CONFIG PREDICTIONS SAVE_DIR
        [--show] [--color-theme winter] [--title TITLE]
        [--cfg-options k=v ...]

``PREDICTIONS`` is either the folder ``tools/test.py CONFIG CKPT --out DIR``
wrote (one PNG of class ids per test image, ``<image name>.png``), or a
checkpoint, which is then run on the test set here (on the CPU unless
``--device`` says otherwise). Labels are read as ``LoadAnnotations`` reads
them, at the original size; pixels of the ignore index are left out. Writes
``SAVE_DIR/confusion_matrix.png`` (rows: label, columns: prediction, each row
normalised to 100 %) and ``SAVE_DIR/confusion_matrix.npy`` (raw pixel counts),
and prints the per-class IoU and mIoU the matrix gives (the same as
``IoUMetric``'s).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import das_mmseg  # noqa: E402,F401
from das_mmseg.analysis import confusion  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'prediction_path',
        help=('folder of predicted PNGs (tools/test.py --out), or a '
              'checkpoint to run'))
    parser.add_argument(
        'save_dir', help='directory where confusion matrix will be saved')
    parser.add_argument(
        '--show', action='store_true', help='show confusion matrix')
    parser.add_argument(
        '--color-theme',
        default='winter',
        help='theme of the matrix color map')
    parser.add_argument(
        '--title',
        default='Normalized Confusion Matrix',
        help='title of the matrix color map')
    parser.add_argument(
        '--device', default='cpu', help='device to run a checkpoint on')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def plot_confusion_matrix(matrix: np.ndarray,
                          labels,
                          save_dir=None,
                          show=False,
                          title='Normalized Confusion Matrix',
                          color_theme='winter') -> None:
    """Draw the row-normalised matrix (percent of each label's pixels)."""
    import matplotlib
    if not show:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    with np.errstate(invalid='ignore', divide='ignore'):
        percent = 100 * matrix / matrix.sum(axis=1, keepdims=True)
    num = len(labels)
    size = max(6.0, 0.7 * num + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=120)
    image = ax.imshow(
        percent, cmap=plt.get_cmap(color_theme), vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, label='% of the label\'s pixels')
    ax.set_title(title, fontweight='bold')
    ax.set_xlabel('Prediction Label')
    ax.set_ylabel('Ground Truth Label')
    ax.set_xticks(np.arange(num))
    ax.set_yticks(np.arange(num))
    ax.set_xticklabels(labels, rotation=45, ha='left', rotation_mode='anchor')
    ax.set_yticklabels(labels)
    ax.tick_params(
        axis='x', bottom=False, top=True, labelbottom=False, labeltop=True)
    for i in range(num):
        for j in range(num):
            value = percent[i, j]
            ax.text(
                j,
                i,
                '-' if np.isnan(value) else f'{value:.1f}',
                ha='center',
                va='center',
                color='k',
                fontsize=7)
    fig.tight_layout()
    if save_dir is not None:
        fig.savefig(osp.join(save_dir, 'confusion_matrix.png'))
    if show:
        plt.show()
    plt.close(fig)


def main(argv=None) -> np.ndarray:
    args = parse_args(argv)
    from mmseg.registry import DATASETS

    from das_mmseg.analysis.models import build_model
    from das_mmseg.launch import load_config
    cfg = load_config(args.config, args.cfg_options)
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    if osp.isdir(args.prediction_path):
        predictions = confusion.saved_predictions(args.prediction_path,
                                                  dataset)
    elif osp.isfile(args.prediction_path):
        model = build_model(
            cfg, checkpoint=args.prediction_path, device=args.device)
        predictions = confusion.model_predictions(model, dataset)
    else:
        raise FileNotFoundError(
            f'"{args.prediction_path}" is neither a folder of predictions '
            'nor a checkpoint file')
    classes = dataset.metainfo['classes']
    matrix = confusion.confusion_matrix(dataset, predictions, len(classes),
                                        dataset.ignore_index)
    os.makedirs(args.save_dir, exist_ok=True)
    np.save(osp.join(args.save_dir, 'confusion_matrix.npy'), matrix)
    plot_confusion_matrix(matrix, classes, args.save_dir, args.show,
                          args.title, args.color_theme)
    iou = confusion.iou_per_class(matrix)
    width = max(len(c) for c in classes) + 2
    for name, value in zip(classes, iou):
        print(f'{name:<{width}}IoU {100 * value:6.2f}')
    print(f'{"mIoU":<{width}}    {100 * np.nanmean(iou):6.2f}  '
          f'({len(dataset)} images)')
    print(f'wrote {osp.join(args.save_dir, "confusion_matrix.png")}')
    return matrix


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
