"""Moved: ``tools/analysis_tools/visualize_clip.py CONFIG [CHECKPOINT]
[--image IMG] --out OUT.png`` takes the cell's settings from the config and
the checkpoint. This path forwards there for one release; it still reads the
old form, which re-states the cell's settings as flags::

    python tools/visualize_clip.py IMAGE (--policy POLICY.json |
        --checkpoint CKPT) [--out clip.png] [--ops ...] [--num-frames 8]
        [--num-nodes 4] [--progression symmetric] [--padding-mode zeros]
"""
import argparse
import os.path as osp
import sys
import warnings

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))

MOVED = ('tools/visualize_clip.py moved to tools/analysis_tools/'
         'visualize_clip.py CONFIG [CHECKPOINT] [--image IMG] --out OUT.png, '
         'which takes the cell from the config; this path is kept for one '
         'release')


def parse_old_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('image')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--policy', help='policy JSON')
    source.add_argument('--checkpoint', help='checkpoint holding a ClipCell')
    parser.add_argument('--out', default='clip.png')
    parser.add_argument(
        '--ops',
        nargs='+',
        default=['identity', 'shift_x', 'shift_y', 'zoom', 'rotate'])
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument('--num-nodes', type=int, default=4)
    parser.add_argument('--progression', default='symmetric')
    parser.add_argument('--padding-mode', default='zeros')
    return parser.parse_args(argv)


def old_form(argv) -> None:
    """Render with a cell built from the flags (pixel values, BGR)."""
    import mmcv
    import torch

    import das_mmseg  # noqa: F401
    from das_mmseg.apis.inference import frame_titles
    from das_mmseg.augment import Policy
    from das_mmseg.datasets.loading import load_checked_image
    from das_mmseg.engine.checkpoint import load_from_local
    from das_mmseg.models.clip_cells import ClipCell
    from das_mmseg.visualization import clip_to_rgb, draw_clip
    args = parse_old_args(argv)
    policy = Policy.load(args.policy) if args.policy else None
    cell = ClipCell(
        ops=policy.ops if policy else args.ops,
        num_frames=policy.num_frames if policy else args.num_frames,
        num_nodes=policy.num_nodes if policy else args.num_nodes,
        progression=policy.progression if policy else args.progression,
        padding_mode=args.padding_mode,
        policy=policy,
        channel_order='bgr')
    if args.checkpoint:
        state = load_from_local(args.checkpoint, map_location='cpu')
        state = state.get('state_dict', state)
        own = {
            key.split('clip_cell.', 1)[-1]: value
            for key, value in state.items() if 'clip_cell.' in key
        }
        if 'alpha' not in own:
            raise KeyError(
                f'{args.checkpoint} holds no clip cell (no clip_cell.alpha)')
        cell.load_state_dict(own, strict=False)
    image = load_checked_image(args.image)
    pixels = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        frames = clip_to_rgb(cell.eval()(pixels)[0], cell.space)
    titles = frame_titles(cell.policy, cell.ref_frame, cell.num_frames,
                          image.shape[:2], cell.policy is None)
    mmcv.imwrite(
        draw_clip(frames, cell.ref_frame, titles)[..., ::-1], args.out)
    print(f'wrote {args.out} ({len(frames)} frames)')


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    warnings.warn(MOVED, FutureWarning, stacklevel=2)
    if argv and argv[0].endswith('.py'):
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            'analysis_tools_visualize_clip',
            osp.join(TOOLS, 'analysis_tools', 'visualize_clip.py'))
        moved = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(moved)
        moved.main(argv)
    else:
        old_form(argv)


if __name__ == '__main__':
    from das_mmseg.utils.cli import run_main
    run_main(main)
