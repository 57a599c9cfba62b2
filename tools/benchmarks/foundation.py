"""One training iteration of the smoke model (configs/smoke_camvid_sample.py)
on real images from the bundled sample.

Candidates: a plain PyTorch step on the already-normalised batch (forward,
loss, backward, SGD step) and the same step through mmengine
(``model.train_step`` with the data preprocessor and ``OptimWrapper``). Their
ratio is what the framework costs on top of the network.
"""
import os.path as osp

import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from ._sample import ROOT, load_train_set

HELP = ('training iteration of the smoke model: plain PyTorch vs mmengine '
        'train_step')


def add_arguments(parser) -> None:
    parser.add_argument(
        '--config', default=osp.join(ROOT, 'configs/smoke_camvid_sample.py'))
    parser.add_argument('--batch-size', type=int, default=4)


def run(args) -> list:
    from mmseg.registry import MODELS

    from das_mmseg.utils.benchmark import compare

    cfg, dataset = load_train_set(args.config, args.device)
    batch = pseudo_collate([dataset[i] for i in range(args.batch_size)])
    model = MODELS.build(cfg.model).to(args.device).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    plain_optimizer = torch.optim.SGD(
        model.parameters(), lr=1e-4, momentum=0.9)
    processed = model.data_preprocessor(batch, training=True)

    def plain_step():
        losses = model(**processed, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        plain_optimizer.zero_grad()
        loss.backward()
        plain_optimizer.step()

    def mmengine_step():
        model.train_step(batch, optim_wrapper)

    h, w = processed['inputs'].shape[-2:]
    return [
        compare(
            'foundation: smoke training iteration', {
                'plain torch': plain_step,
                'mmengine train_step': mmengine_step
            },
            args.device,
            args.warmup,
            args.repeats,
            settings=dict(batch=args.batch_size, size=f'{h}x{w}'))
    ]
