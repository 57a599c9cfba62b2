"""Frame fusion: whole-model training step and inference of ClipEncoderDecoder
with 'logits' (the paper), 'features' and 'aligned' fusion, on the same weights
and the same clips of real CamVid images.

The clips are pans rendered once by a ClipCell with a discrete policy
(outside the timing), with their frame affines in the metainfo as ImageToVideo
would give them, so every candidate times the same backbone on N*T frames and
differs only in fusion: 'logits' runs the head on every frame, 'features' once
per image, 'aligned' on every frame plus the warps at the input size. The model
is a PSPNet on a GSF ResNetV1c (the paper's segmentation model, depth and width
configurable); defaults are GPU-sized on CUDA and CPU-sized otherwise.
"""
import os.path as osp

import torch
from mmengine.config import ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

HELP = ("clip segmentor step time and memory: 'features' and 'aligned' "
        "fusion versus 'logits' (the paper)")
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FUSIONS = ('logits', 'features', 'aligned')
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def add_arguments(parser) -> None:
    parser.add_argument(
        '--depth',
        type=int,
        default=None,
        help='ResNetV1c depth (default: 50 on CUDA, 18 on CPU)')
    parser.add_argument(
        '--base-channels',
        type=int,
        default=None,
        help='default: 64 on CUDA, 32 on CPU')
    parser.add_argument(
        '--head-channels',
        type=int,
        default=None,
        help='PSPHead channels (default 512 / 128)')
    parser.add_argument(
        '--size',
        type=int,
        default=None,
        help='square crop size (default 512 on CUDA, 128 on CPU)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help=(
            'images per batch (default 2; a training PSPHead needs >= 2 with '
            'features fusion)'))
    parser.add_argument(
        '--num-frames',
        type=int,
        default=None,
        help='T (default 8 on CUDA, 4 on CPU)')
    parser.add_argument('--temporal', default='GSF', choices=['GSF', 'TSM'])


def _defaults(args) -> None:
    gpu = args.device.type == 'cuda'
    for name, (on_gpu, on_cpu) in dict(
            depth=(50, 18),
            base_channels=(64, 32),
            head_channels=(512, 128),
            size=(512, 128),
            batch_size=(2, 2),
            num_frames=(8, 4)).items():
        if getattr(args, name) is None:
            setattr(args, name, on_gpu if gpu else on_cpu)


def model_cfg(args, fusion: str) -> dict:
    norm = dict(type='BN', requires_grad=True)
    # channels of the last stage
    width = args.base_channels * 8 * (4 if args.depth >= 50 else 1)
    return dict(
        type='ClipEncoderDecoder',
        fusion=fusion,
        num_frames=args.num_frames,
        data_preprocessor=dict(
            type='ClipSegDataPreProcessor',
            mean=MEAN,
            std=STD,
            bgr_to_rgb=True,
            size=(args.size, args.size)),
        backbone=dict(
            type='VideoResNetV1c',
            depth=args.depth,
            base_channels=args.base_channels,
            stem_channels=args.base_channels,
            num_segments=args.num_frames,
            temporal=dict(type=args.temporal),
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            norm_cfg=norm,
            contract_dilation=True),
        decode_head=dict(
            type='PSPHead',
            in_channels=width,
            in_index=3,
            channels=args.head_channels,
            pool_scales=(1, 2, 3, 6),
            dropout_ratio=0.1,
            num_classes=11,
            norm_cfg=norm,
            align_corners=False),
        test_cfg=dict(mode='whole'))


def pan_policy(num_frames: int) -> dict:
    """Frames panned 3% of the width and 2% of the height per step: every frame
    one affine warp of the image."""
    return dict(
        version=1,
        ops=['identity', 'shift_x', 'shift_y', 'zoom', 'rotate'],
        nodes=[[[0, 'shift_x']], [[2, 'shift_y']]],
        magnitudes=dict(shift_x=0.03, shift_y=0.02),
        num_frames=num_frames,
        progression='signed')


def run(args) -> list:
    from mmseg.registry import DATASETS, MODELS

    import das_mmseg  # noqa: F401
    from das_mmseg.utils.benchmark import compare

    _defaults(args)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    dataset = DATASETS.build(
        dict(
            type='CamVidDataset',
            data_root=osp.join(ROOT, 'data/camvid_sample'),
            data_prefix=dict(
                img_path='img_dir/train', seg_map_path='ann_dir/train'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(
                    type='Resize',
                    scale=(args.size, args.size),
                    keep_ratio=False),
                dict(type='PackSegInputs')
            ]))
    batch = pseudo_collate([dataset[i] for i in range(args.batch_size)])

    models = {}
    for fusion in FUSIONS:
        cfg = ConfigDict(model_cfg(args, fusion))
        models[fusion] = MODELS.build(cfg).to(args.device)
    for model in models.values():
        model.load_state_dict(models['logits'].state_dict())
    processed = models['logits'].data_preprocessor(batch, training=True)
    cell = MODELS.build(
        dict(
            type='ClipCell',
            num_frames=args.num_frames,
            num_nodes=2,
            progression='signed',
            mean=MEAN,
            std=STD,
            policy=pan_policy(args.num_frames))).to(args.device)
    with torch.no_grad():
        clips = cell(processed['inputs'])
    affines = cell.frame_affines(args.batch_size,
                                 (args.size, args.size)).cpu().numpy()
    samples = processed['data_samples']
    for sample, theta in zip(samples, affines):
        sample.set_metainfo(dict(frame_affines=theta))

    def train_step(model, optimizer):

        def step():
            losses = model.loss(clips, samples)
            optimizer.zero_grad()
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            optimizer.step()

        return step

    def inference(model):

        def predict():
            with torch.no_grad():
                model.predict(clips, samples)

        return predict

    model_name = (f'PSPNet c{args.head_channels} on '
                  f'{args.temporal}-ResNetV1c-{args.depth} '
                  f'w{args.base_channels}')
    settings = dict(
        model=model_name,
        batch=args.batch_size,
        frames=args.num_frames,
        size=f'{args.size}x{args.size}')
    for model in models.values():
        model.train()
    train = compare(
        'fusion: training step (forward+backward+SGD), whole model', {
            f:
            train_step(m, torch.optim.SGD(
                m.parameters(), lr=1e-4, momentum=0.9))
            for f, m in models.items()
        },
        args.device,
        args.warmup,
        args.repeats,
        settings=settings)
    for model in models.values():
        model.eval()
    test = compare(
        'fusion: inference (predict), whole model', {
            f: inference(m)
            for f, m in models.items()
        },
        args.device,
        args.warmup,
        args.repeats,
        settings=settings)
    return [train, test]
