"""Browse the training set as the model gets it, as mmseg's
``browse_dataset.py``; ``--show-clip`` also draws each sample's clip.

    python tools/analysis_tools/browse_dataset.py CONFIG
        [--output-dir DIR] [--not-show] [--show-interval S]
        [--show-clip] [--checkpoint CKPT] [--max-samples N]
        [--cfg-options k=v ...]

Every sample of the training pipeline (augmentations included) is drawn with
its label. With ``--show-clip`` the clip the model would see is drawn as well
(``<DIR>/<name>_clip.png``): the clip an ``ImageToVideo`` step of the
pipeline made, or the one the model's clip cell makes of the sample (the
config's cell; ``--checkpoint`` brings a trained cell's policy or α, and
``--cfg-options model.clip_cell.policy=POLICY.json`` another policy).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmcv  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

import das_mmseg  # noqa: E402,F401


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--output-dir',
        default=None,
        type=str,
        help='If there is no display interface, you can save it')
    parser.add_argument('--not-show', default=False, action='store_true')
    parser.add_argument(
        '--show-interval',
        type=float,
        default=2,
        help='the interval of show (s)')
    parser.add_argument(
        '--show-clip',
        action='store_true',
        help='also draw the clip of each sample')
    parser.add_argument(
        '--checkpoint', help='checkpoint whose clip cell makes the clips')
    parser.add_argument(
        '--max-samples',
        type=int,
        default=None,
        help='stop after this many samples')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def sample_image(item) -> np.ndarray:
    """The (reference) image of a packed sample, RGB ``(H, W, 3)``: the
    first three channels of an image, the reference frame of a packed
    clip."""
    inputs = item['inputs']
    channels = inputs.shape[0]
    if channels > 3:  # a clip packed frame-major by ImageToVideo
        ref = item['data_samples'].metainfo.get('ref_frame',
                                                channels // 3 // 2)
        inputs = inputs[3 * ref:3 * ref + 3]
    # BGR -> RGB, C-contiguous (OpenCV draws the labels into a copy of it)
    return np.ascontiguousarray(inputs.permute(1, 2, 0).numpy()[..., ::-1])


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmseg.registry import DATASETS, VISUALIZERS

    from das_mmseg.analysis.models import build_model
    from das_mmseg.apis.inference import clip_titles, preprocessed_clips
    from das_mmseg.launch import load_config
    cfg = load_config(args.config, args.cfg_options)
    # the model also sets the registry scope
    model = build_model(cfg, checkpoint=args.checkpoint)
    model.cfg = cfg
    if args.show_clip:
        from das_mmseg.visualization import draw_clip
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    total = len(dataset) if args.max_samples is None else min(
        len(dataset), args.max_samples)
    progress = ProgressBar(total)
    for index in range(total):
        item = dataset[index]
        name = osp.basename(item['data_samples'].img_path)
        out_file = (
            osp.join(args.output_dir, name)
            if args.output_dir is not None else None)
        visualizer.add_datasample(
            name=name,
            image=sample_image(item),
            data_sample=item['data_samples'].numpy(),
            draw_gt=True,
            draw_pred=False,
            wait_time=args.show_interval,
            out_file=out_file,
            show=not args.not_show)
        if args.show_clip:
            frames = preprocessed_clips(model, pseudo_collate([item]))[0]
            ref_frame, titles = clip_titles(model, frames.shape[1:3])
            montage = draw_clip(frames, ref_frame, titles)
            if out_file is not None:
                mmcv.imwrite(montage[..., ::-1],
                             osp.splitext(out_file)[0] + '_clip.png')
            if not args.not_show:
                visualizer.show(
                    montage,
                    win_name=name + ' clip',
                    wait_time=args.show_interval)
        progress.update()
    return total


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
