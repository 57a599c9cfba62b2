"""Forward + backward of the TSM and GSF video backbones against the same 2-D
backbone on the same N*T frames.

All three hold the same 2-D weights (the video ones add their temporal modules)
and run in training mode on one batch of random frames; the step is forward, a
scalar loss over every output stage, and backward. Targets: TSM <= 1.05x, GSF
<= 1.15x the 2-D step.
"""
import torch

HELP = ('video backbones (TSM, GSF) vs the 2-D backbone: forward+backward on '
        'the same N*T frames')
ARCHS = {
    'r18': ('ResNetV1c', 'VideoResNetV1c', dict(depth=18)),
    'r50': ('ResNetV1c', 'VideoResNetV1c', dict(depth=50)),
    'r101': ('ResNetV1c', 'VideoResNetV1c', dict(depth=101)),
    'mbv2': ('MobileNetV2', 'VideoMobileNetV2', dict()),
}


def add_arguments(parser) -> None:
    parser.add_argument(
        '--arch',
        choices=sorted(ARCHS),
        default='r50',
        help='mmseg backbone (default r50)')
    parser.add_argument(
        '--clips', type=int, default=1, help='N, clips per batch')
    parser.add_argument(
        '--num-segments', type=int, default=8, help='T, frames per clip')
    parser.add_argument(
        '--size', type=int, default=128, help='square frame side in pixels')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help=(
            'CPU threads for torch (default: torch\'s); 1 gives steady ratios '
            'on a busy machine'))


def run(args) -> list:
    from mmseg.registry import MODELS

    import das_mmseg  # noqa: F401
    from das_mmseg.utils.benchmark import compare

    if args.threads:
        torch.set_num_threads(args.threads)
    plain_type, video_type, kwargs = ARCHS[args.arch]
    torch.manual_seed(0)
    models = {'2-D': MODELS.build(dict(type=plain_type, **kwargs))}
    for name in ('TSM', 'GSF'):
        video = MODELS.build(
            dict(
                type=video_type,
                num_segments=args.num_segments,
                temporal=dict(type=name),
                **kwargs))
        video.load_state_dict(models['2-D'].state_dict(), strict=False)
        models[name] = video
    frames = torch.randn(
        args.clips * args.num_segments,
        3,
        args.size,
        args.size,
        device=args.device)

    def step(model):

        def fn():
            model.zero_grad(set_to_none=True)
            sum(out.float().mean() for out in model(frames)).backward()

        return fn

    candidates = {}
    for name, model in models.items():
        model.to(args.device)
        model.train()
        candidates[name] = step(model)
    return [
        compare(
            f'backbone: {video_type} ({args.arch}) forward+backward',
            candidates,
            args.device,
            args.warmup,
            args.repeats,
            settings=dict(
                frames=f'{args.clips}x{args.num_segments}', size=args.size))
    ]
