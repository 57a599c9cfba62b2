"""What the DAS search costs on top of training: iterations of
``DASIterBasedTrainLoop``'s search phase versus plain training.

The model is a ``ClipEncoderDecoder`` whose relaxed ``ClipCell`` makes T-frame
clips of real images from the bundled CamVid sample, on the tiny ResNetV1c-18
of the smoke config. The optimizers come from ``DASOptimWrapperConstructor``
and each iteration does what the loop's ``run_iter`` does. One call of every
candidate is two training iterations:

- ``plain training``: two weight steps (``train_step`` with
  ``optim_wrapper['model']``), the cell relaxed and α fixed;
- ``search, interval 1`` (``policy_interval=1``): an α step
  (:func:`arch_step` with ``optim_wrapper['policy']``, on a batch of other
  images) before each weight step;
- ``search, interval 2``: an α step before the first of the two weight steps
  only;
- ``search, unrolled, interval 1``: as interval 1 with DARTS' second-order α
  step (``das_search.unrolled=True``, :class:`Unrolled`): a virtual weight
  step, the search loss's gradient there, and two more α gradients for the
  finite difference.

The first-order floor is one extra forward and backward per α step
(2.0x at interval 1). The second table splits one α step into its parts, in
units of one weight step, to show where its time goes: the forward, the
backward down to α (input gradients through every layer, but no weight
gradients), the clip cell's own share of it, and the rest of ``arch_step``
(buffer snapshot and restore, the all-reduce where distributed, Adam).
"""
import copy
import os.path as osp

import torch
from mmengine.dataset import pseudo_collate

from ._sample import ROOT, load_train_set

HELP = ('DAS search overhead: training iteration with the α step at interval '
        '1 and 2 vs plain training')


def add_arguments(parser) -> None:
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs/smoke_camvid_sample.py'),
        help=('config whose backbone, head and preprocessor build the clip '
              'segmentor'))
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--num-frames', type=int, default=4)
    parser.add_argument('--num-nodes', type=int, default=4)
    parser.add_argument(
        '--base-channels',
        type=int,
        default=None,
        help=('ResNet width instead of the config\'s (16 in the smoke config; '
              '64 is the standard ResNet-18, where the network outweighs the '
              'clip cell as it does at full scale)'))
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help=('intra-op CPU threads (1 gives steadier ratios on a shared '
              'machine)'))


def run(args) -> list:
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS

    from das_mmseg.engine.arch_step import Unrolled, arch_step, frozen_buffers
    from das_mmseg.utils.benchmark import compare

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, dataset = load_train_set(args.config, args.device)
    n = args.batch_size
    weight_batch = pseudo_collate([dataset[i] for i in range(n)])
    policy_batch = pseudo_collate([dataset[i] for i in range(n, 2 * n)])

    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.type = 'ClipEncoderDecoder'
    if args.base_channels:
        width = args.base_channels
        model_cfg.backbone.update(stem_channels=width, base_channels=width)
        model_cfg.decode_head.update(in_channels=8 * width, channels=2 * width)
    model_cfg.clip_cell = dict(
        type='ClipCell', num_frames=args.num_frames, num_nodes=args.num_nodes)
    model = MODELS.build(model_cfg).to(args.device).train()
    cell = model.clip_cell
    arch_params = list(cell.arch_parameters())
    # the loop's optimizers: the weights' from the config, the paper's Adam
    # for α
    optim_wrapper = build_optim_wrapper(
        model,
        dict(
            copy.deepcopy(cfg.optim_wrapper),
            constructor='DASOptimWrapperConstructor'))

    def weight_step():
        model.train_step(weight_batch, optim_wrapper['model'])

    def alpha_step():
        arch_step(model, optim_wrapper['policy'], policy_batch, iteration=0)

    def unrolled_alpha_step():
        arch_step(
            model,
            optim_wrapper['policy'],
            policy_batch,
            iteration=0,
            unrolled=Unrolled(weight_batch, optim_wrapper['model']))

    def plain():
        weight_step()
        weight_step()

    def unrolled_1():
        unrolled_alpha_step()
        weight_step()
        unrolled_alpha_step()
        weight_step()

    def interval_1():
        alpha_step()
        weight_step()
        alpha_step()
        weight_step()

    def interval_2():
        alpha_step()
        weight_step()
        weight_step()

    def alpha_forward():
        with torch.no_grad(), frozen_buffers(model):
            model(**model.data_preprocessor(policy_batch, True), mode='loss')

    def alpha_forward_backward():
        with cell.arch_grad(), frozen_buffers(model):
            losses = model(
                **model.data_preprocessor(policy_batch, True), mode='loss')
            loss, _ = model.parse_losses(losses)
            torch.autograd.grad(loss, arch_params, allow_unused=True)

    images = model.data_preprocessor(policy_batch, True)['inputs']

    def cell_forward_backward():
        with cell.arch_grad():
            torch.autograd.grad(
                cell(images).square().mean(), arch_params, allow_unused=True)

    h, w = images.shape[-2:]
    settings = dict(
        width=model_cfg.backbone.base_channels,
        batch=n,
        frames=args.num_frames,
        nodes=args.num_nodes,
        size=f'{h}x{w}',
        arch_params=sum(p.numel() for p in arch_params))
    overhead = compare(
        'search: two training iterations, with and without the α step', {
            'plain training': plain,
            'search, interval 1': interval_1,
            'search, interval 2': interval_2,
            'search, unrolled, interval 1': unrolled_1
        },
        args.device,
        args.warmup,
        args.repeats,
        settings=settings)
    parts = compare(
        'search: one α step, part by part (baseline: one weight step)', {
            'weight step': weight_step,
            'α forward (no grad)': alpha_forward,
            'α forward + α backward': alpha_forward_backward,
            'α step (arch_step)': alpha_step,
            'α step, unrolled': unrolled_alpha_step,
            'clip cell alone: forward + α backward': cell_forward_backward
        },
        args.device,
        args.warmup,
        args.repeats,
        settings=settings)
    return [overhead, parts]
