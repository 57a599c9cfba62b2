"""The image-to-video cell: its speed against the authors' per-frame loop, its
share of a training iteration, and the CPU ``ImageToVideo`` throughput.

(a) ``ClipCell`` (8 frames, 5 ops, 4 nodes, a magnitude per op and edge; full
mixture and the sampled Gumbel mode) against a per-frame, per-op
    Python loop over ``torchvision.transforms.functional.affine`` (nearest
    sampling, fixed magnitudes, as the authors' code builds clips), forward and
    forward+backward, at CIFAR size and segmentation size.
(b) One training iteration of a clip model (video ResNet-18 with GSF on N*T
frames, a 1x1 classifier per pixel,
    logits averaged over T, cross-entropy, SGD step) with the image repeated T
    times (no cell), with the mixture cell and with the sampled cell (both
    back-propagating into α, as a joint step would), and with the mixture cell
    with α frozen, as in the search's weight steps: the ratios give the
    cell's share (ratio - 1) / ratio.
(c) ``ImageToVideo`` with a derived 8-frame policy on a 512x512 image, one
thread (one worker), against mmseg's
    ``PhotoMetricDistortion`` on the same image.

Sizes default to the issue's (CIFAR 32x32 batch 64; segmentation 512x512 batch
4) on a GPU; on a CPU to what runs in about two minutes on 2 cores (CIFAR batch
8; segmentation 96x96 batch 1; 1 warm-up, 3 repeats): pass the flags to change
them.
"""
import os.path as osp
from typing import Dict, List

import mmcv
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

HELP = ('clip cell vs per-frame loop, cell share of a training iteration, '
        'ImageToVideo throughput')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PHOTO = osp.join(ROOT, 'data/camvid_sample/img_dir/train/0001TP_006690.jpg')
OPS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate')


def add_arguments(parser) -> None:
    gpu = torch.cuda.is_available()
    parser.add_argument('--cifar-batch', type=int, default=64 if gpu else 8)
    parser.add_argument('--seg-size', type=int, default=512 if gpu else 96)
    parser.add_argument('--seg-batch', type=int, default=4 if gpu else 1)
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument(
        '--skip',
        nargs='*',
        default=[],
        choices=['loop', 'iteration', 'pipeline'],
        help='parts to leave out')
    if not gpu:  # the loop baseline takes seconds per call on 2 cores
        parser.set_defaults(warmup=1, repeats=3)


class LoopCell:
    """The authors' way: every edge applies every op to every frame in Python,
    one ``TF.affine`` call each, with that op's magnitude on that edge; nodes
    sum their edges and the output is normalised once (as the cell)."""

    def __init__(self, cell) -> None:
        self.num_nodes, self.ref = cell.num_nodes, cell.ref_frame
        # (E, K), fixed, as in the authors' code
        self.magnitudes = cell.magnitudes.detach().tolist()
        self.alpha = cell.alpha

    def op(self, clip: torch.Tensor, edge: int, k: int) -> torch.Tensor:
        if OPS[k] == 'identity':
            return clip
        h, w = clip.shape[-2:]
        m = self.magnitudes[edge][k]
        frames = []
        for t in range(clip.shape[1]):
            d = abs(t - self.ref)
            shift = dict(
                shift_x=[m * d * w, 0],
                shift_y=[0, m * d * h]).get(OPS[k], [0, 0])
            frames.append(
                TF.affine(
                    clip[:, t],
                    angle=m * d if OPS[k] == 'rotate' else 0.0,
                    translate=shift,
                    scale=m**d if OPS[k] == 'zoom' else 1.0,
                    shear=[0.0]))
        return torch.stack(frames, dim=1)

    def __call__(self, images: torch.Tensor, num_frames: int) -> torch.Tensor:
        weights = self.alpha.softmax(-1)
        clip = images.unsqueeze(1).expand(-1, num_frames, -1, -1, -1)
        states, edge = [clip, clip], 0
        for _ in range(self.num_nodes):
            total = 0
            for src in states:
                total = total + sum(weights[edge, k] * self.op(src, edge, k)
                                    for k in range(len(OPS)))
                edge += 1
            states.append(total)
        return states[-1] / 2**self.num_nodes  # the last node's mass


def photo_batch(batch: int, size: int, device) -> torch.Tensor:
    img = mmcv.imresize(mmcv.imread(PHOTO), (size, size))
    x = torch.from_numpy(img).permute(2, 0,
                                      1).float().div(255).sub(0.45).div(0.225)
    return x.unsqueeze(0).repeat(batch, 1, 1, 1).to(device)


def cell_vs_loop(args, size: int, batch: int) -> List:
    from das_mmseg.models.clip_cells import ClipCell
    torch.manual_seed(0)
    cell = ClipCell(num_frames=args.num_frames).to(args.device)
    sampled = ClipCell(
        num_frames=args.num_frames, sampling='gumbel').to(args.device).train()
    sampled.load_state_dict(cell.state_dict())
    loop = LoopCell(cell)
    x = photo_batch(batch, size, args.device)
    # the loop reads α as it is; the cells back-propagate into α as in the
    # architecture step
    with cell.arch_grad(), sampled.arch_grad():
        return _cell_vs_loop(args, cell, sampled, loop, x, size, batch)


def _cell_vs_loop(args, cell, sampled, loop, x, size: int, batch: int) -> List:
    from das_mmseg.utils.benchmark import compare
    t = args.num_frames

    def backward(out):
        out.float().mean().backward()
        cell.alpha.grad = sampled.alpha.grad = None

    settings = dict(
        batch=batch, size=f'{size}x{size}', frames=t, ops=len(OPS), nodes=4)
    forward = compare(
        f'clip (a) forward {size}x{size}', {
            'loop (TF.affine)': lambda: loop(x, t),
            'cell': lambda: cell(x),
            'cell gumbel': lambda: sampled(x)
        }, args.device, args.warmup, args.repeats, settings)
    both = compare(
        f'clip (a) forward+backward {size}x{size}', {
            'loop (TF.affine)': lambda: backward(loop(x, t)),
            'cell': lambda: backward(cell(x)),
            'cell gumbel': lambda: backward(sampled(x))
        }, args.device, args.warmup, args.repeats, settings)
    return [forward, both]


def training_share(args, size: int, batch: int) -> List:
    from mmseg.registry import MODELS

    from das_mmseg.models.clip_cells import ClipCell
    torch.manual_seed(0)
    t = args.num_frames
    backbone = MODELS.build(
        dict(
            type='VideoResNetV1c',
            depth=18,
            num_segments=t,
            temporal=dict(type='GSF'),
            norm_cfg=dict(type='BN'),
            out_indices=(3, ))).to(args.device)
    backbone.train()  # mmseg's ResNet.train() returns None
    cells = {
        'mixture': ClipCell(num_frames=t).to(args.device).train(),
        'gumbel': ClipCell(num_frames=t,
                           sampling='gumbel').to(args.device).train(),
        'frozen': ClipCell(num_frames=t).to(args.device).train()
    }
    # the search's weight steps run the relaxed cell with α frozen (its
    # default: α learns in its own step), forward only; the others
    # back-propagate into α as a joint step would
    with cells['mixture'].arch_grad(), cells['gumbel'].arch_grad():
        return _training_share(args, backbone, cells, size, batch)


def _training_share(args, backbone, cells, size: int, batch: int) -> List:
    from das_mmseg.utils.benchmark import compare
    t = args.num_frames
    classifier = torch.nn.Conv2d(512, 11, 1).to(args.device)
    params = list(backbone.parameters()) + list(classifier.parameters())
    optimizer = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    x = photo_batch(batch, size, args.device)
    labels = torch.randint(0, 11, (batch, size, size), device=args.device)

    def step(cell):
        clip = cell(x) if cell is not None else x.unsqueeze(1).expand(
            -1, t, -1, -1, -1)
        feats = backbone(clip.flatten(0, 1))[-1]
        logits = F.interpolate(
            classifier(feats),
            size=(size, size),
            mode='bilinear',
            align_corners=False)
        # fusion: average over frames
        logits = logits.view(batch, t, 11, size, size).mean(1)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        for c in cells.values():
            c.zero_grad()
        loss.backward()
        optimizer.step()

    comparison = compare(
        f'clip (b) training iteration {size}x{size}', {
            'no cell (repeated image)':
            lambda: step(None),
            'cell mixture':
            lambda: step(cells['mixture']),
            'cell gumbel':
            lambda: step(cells['gumbel']),
            'cell mixture, α frozen (search weight step)':
            lambda: step(cells['frozen'])
        }, args.device, args.warmup, max(5, args.repeats),
        dict(
            batch=batch,
            size=f'{size}x{size}',
            frames=t,
            backbone='VideoResNetV1c-18 + GSF'))
    for name in ('cell mixture', 'cell gumbel',
                 'cell mixture, α frozen (search weight step)'):
        ratio = comparison.ratios[name]
        comparison.settings[
            f'share {name}'] = f'{100 * (ratio - 1) / ratio:.1f}%'
    return [comparison]


def pipeline_throughput(args) -> List:
    from mmseg.registry import TRANSFORMS

    from das_mmseg.datasets.transforms import ImageToVideo
    from das_mmseg.models.clip_cells import ClipCell
    from das_mmseg.utils.benchmark import compare
    torch.manual_seed(0)
    policy = ClipCell(num_frames=args.num_frames).discretize()
    img = mmcv.imresize(mmcv.imread(PHOTO), (512, 512))
    to_video = ImageToVideo(policy)
    distortion = TRANSFORMS.build(dict(type='PhotoMetricDistortion'))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one dataloader worker
    try:
        comparison = compare(
            'clip (c) ImageToVideo, one worker', {
                'PhotoMetricDistortion':
                lambda: distortion(dict(img=img.copy())),
                'ImageToVideo': lambda: to_video(dict(img=img.copy()))
            }, torch.device('cpu'), args.warmup, args.repeats,
            dict(size='512x512', frames=args.num_frames, paths=_paths(policy)))
    finally:
        torch.set_num_threads(threads)
    rate = 1 / comparison.seconds['ImageToVideo']
    comparison.settings['ImageToVideo images/s per worker'] = f'{rate:.1f}'
    return [comparison]


def _paths(policy) -> int:
    counts: Dict[int, int] = {0: 1, 1: 1}
    for n, edges in enumerate(policy.nodes):
        counts[n + 2] = sum(counts[s] for s, _ in edges)
    return counts[len(policy.nodes) + 1]


def run(args) -> list:
    import das_mmseg  # noqa: F401
    results = []
    if 'loop' not in args.skip:
        results += cell_vs_loop(args, 32, args.cifar_batch)
        results += cell_vs_loop(args, args.seg_size, args.seg_batch)
    if 'iteration' not in args.skip:
        results += training_share(args, 32, args.cifar_batch)
        results += training_share(args, args.seg_size, args.seg_batch)
    if 'pipeline' not in args.skip:
        results += pipeline_throughput(args)
    return results
