"""Draw the clip a DAS model makes of an image: its frames in a row.

    python tools/analysis_tools/visualize_clip.py CONFIG [CHECKPOINT]
        [--image IMG] --out OUT.png [--cfg-options k=v ...]

The cell (op set, T, nodes, magnitudes, padding, normalisation) is the one
the config builds; the checkpoint brings its trained state: the derived
policy, or α and the magnitudes of a relaxed (still searching) cell. Without
a checkpoint the cell is as initialised (its config ``policy`` if it has
one). Another policy: ``--cfg-options model.clip_cell.policy=POLICY.json``.
A model fed clips by an ``ImageToVideo`` step shows that step's clip.

The image (default: the first image of the config's test set) goes through
the config's test pipeline and data preprocessor, so the frames are exactly
what the model sees. Each frame is titled with its index and, under a
policy, how far its pixels moved on average; the policy (or the relaxed
cell's mean op weights) is printed.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmcv  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import das_mmseg  # noqa: E402,F401


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file of the clip model')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint (policy or α)')
    parser.add_argument(
        '--image', help='image file (default: the first test image)')
    parser.add_argument('--out', default='clip.png', help='output PNG')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def describe_cell(model) -> str:
    """The policy the clips come from, or a relaxed cell's mean op
    weights."""
    from das_mmseg.apis.inference import clip_policy
    policy, _ = clip_policy(model)
    if policy is not None:
        return 'policy:\n' + policy.describe()
    cell = getattr(model, 'clip_cell', None)
    if cell is None:
        return f'the image repeated {model.num_frames} times'
    weights = cell.op_weights().detach().mean(0)
    order = weights.argsort(descending=True).tolist()
    return 'relaxed cell, mean op weights over the edges: ' + ', '.join(
        f'{cell.op_names[k]} {weights[k]:.3f}' for k in order)


def main(argv=None) -> str:
    args = parse_args(argv)
    from das_mmseg.analysis.models import build_model, test_image_paths
    from das_mmseg.apis.inference import clip_titles, inference_clip
    from das_mmseg.launch import load_config
    from das_mmseg.visualization import draw_clip
    cfg = load_config(args.config, args.cfg_options)
    model = build_model(cfg, checkpoint=args.checkpoint, device=args.device)
    model.cfg = cfg
    image = args.image or test_image_paths(cfg, 1)[0]
    if not osp.isfile(image):
        raise FileNotFoundError(f'image file "{image}" does not exist')
    frames = inference_clip(model, image)
    ref_frame, titles = clip_titles(model, frames.shape[1:3])
    mmcv.imwrite(draw_clip(frames, ref_frame, titles)[..., ::-1], args.out)
    description = describe_cell(model)
    print(description)
    print(f'wrote {args.out} ({len(frames)} frames of {image})')
    return description


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
