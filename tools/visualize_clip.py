"""Render the clip a policy (or a searched relaxed cell) makes from one image:
one PNG, frames in a row.

    python tools/visualize_clip.py IMAGE --policy policy.json --out clip.png
    python tools/visualize_clip.py IMAGE \\
        --checkpoint work_dirs/search/iter_1000.pth --out clip.png \\
        [--ops identity shift_x shift_y zoom rotate --num-frames 8 \\
        --num-nodes 4]

Each frame is titled with its index, its distance from the reference frame and,
per op, its value in that frame (magnitude × d, zoom factor ** d). A relaxed
cell lists the ops by their mean weight over the edges.
"""
import argparse
import os.path as osp
import sys

# das_mmseg from a checkout
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import matplotlib  # noqa: E402

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import mmcv  # noqa: E402
import torch  # noqa: E402

DEFAULT_OPS = ['identity', 'shift_x', 'shift_y', 'zoom', 'rotate']


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('image')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--policy', help='policy JSON')
    source.add_argument(
        '--checkpoint',
        help=('checkpoint holding a ClipCell (keys ending in alpha, '
              'magnitude_values or magnitude_logit, _extra_state)'))
    parser.add_argument('--out', default='clip.png')
    parser.add_argument(
        '--ops',
        nargs='+',
        default=DEFAULT_OPS,
        help='op set of the checkpoint\'s cell')
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument('--num-nodes', type=int, default=4)
    parser.add_argument('--progression', default='symmetric')
    parser.add_argument('--padding-mode', default='zeros')
    return parser.parse_args(argv)


def cell_from_checkpoint(path: str, args):
    from das_mmseg.models.clip_cell import ClipCell
    from das_mmseg.utils.checkpoint import load_from_local
    state = load_from_local(path, map_location='cpu')
    state = state.get('state_dict', state)
    keys = ('alpha', 'magnitude_values', 'magnitude_logit', '_extra_state')
    found = {
        key.rsplit('.', 1)[-1]: value
        for key, value in state.items() if key.split('.')[-1] in keys
    }
    if 'alpha' not in found:
        raise KeyError(f'{path} holds no ClipCell: no key ending in "alpha"')
    cell = ClipCell(
        ops=args.ops,
        num_frames=args.num_frames,
        num_nodes=args.num_nodes,
        progression=args.progression,
        padding_mode=args.padding_mode)
    # the cell's own loading: its policy, and magnitudes of any format
    cell.load_state_dict(found, strict=False)
    return cell


def frame_titles(layout, ops, entries) -> list:
    """Per frame, its index and distance and the value of each entry
    ``(label, op name, per-step magnitude or None)``."""
    titles = []
    for t in range(layout.num_frames):
        d = t - layout.ref_frame
        if t == layout.ref_frame:
            titles.append(f't={t} (reference)')
            continue
        d_used = abs(d) if layout.progression == 'symmetric' else d
        lines = [f't={t}, d={d_used}']
        for label, name, magnitude in entries:
            op = ops[name]
            if magnitude is not None and op.has_magnitude:
                value = op.frame_values(
                    torch.tensor(magnitude),
                    torch.tensor([float(d_used)]))[0].item()
                lines.append(f'{label} {value:.3g}' +
                             ('°' if name == 'rotate' else ''))
            else:
                lines.append(label)
        titles.append('\n'.join(lines))
    return titles


def main(argv=None) -> None:
    args = parse_args(argv)
    import das_mmseg  # noqa: F401
    from das_mmseg.augment import PixelSpace, Policy, build_op, render_policy
    from das_mmseg.augment.clip import FrameLayout
    img = mmcv.imread(args.image)  # BGR
    image = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float()
    if args.policy:
        policy = Policy.load(args.policy)
    else:
        cell = cell_from_checkpoint(args.checkpoint, args)
        policy = cell.policy
    if policy is not None:
        clip = render_policy(image, policy, PixelSpace(channel_order='bgr'),
                             args.padding_mode)
        layout = policy.layout
        # one entry per kept edge: node ← source op
        entries = [(f'n{n + 2}←{e.source} {e.op}', e.op, e.magnitude)
                   for n, edges in enumerate(policy.nodes) for e in edges]
        header = policy.describe()
    else:
        cell.space = PixelSpace(channel_order='bgr')
        with torch.no_grad():
            clip = cell(image)
        layout = FrameLayout.build(args.num_frames, None, args.progression)
        # per op its mean magnitude over the edges
        magnitudes = cell.magnitudes.mean(0).tolist()
        mean_weight = cell.op_weights().mean(0)
        order = mean_weight.argsort(descending=True).tolist()
        entries = [(f'{cell.op_names[k]} (edge mean)', cell.op_names[k],
                    magnitudes[k]) for k in order]
        header = 'relaxed cell, mean op weights: ' + ', '.join(
            f'{cell.op_names[k]} {mean_weight[k]:.2f}' for k in order)
    ops = {name: build_op(name) for _, name, _ in entries}
    # RGB for matplotlib
    frames = clip[0].clamp(0, 255).round().byte()
    frames = frames.permute(0, 2, 3, 1).numpy()[..., ::-1]
    titles = frame_titles(layout, ops, entries)
    h, w = frames.shape[1:3]
    header_inches = 0.15 * (header.count('\n') + 1)
    fig, axes = plt.subplots(
        1,
        len(frames),
        squeeze=False,
        figsize=(2.6 * len(frames) * w / max(h, w) + 0.5,
                 2.6 + 0.6 + header_inches))
    for ax, frame, title in zip(axes[0], frames, titles):
        ax.imshow(frame)
        ax.set_title(title, fontsize=7)
        ax.axis('off')
    fig.suptitle(header, fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 1 - header_inches / fig.get_figheight()))
    fig.savefig(args.out, dpi=150)
    print(f'wrote {args.out} ({len(frames)} frames)')


if __name__ == '__main__':
    main()
