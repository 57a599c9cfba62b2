"""The memory of a DAS training step at the paper's sizes, against its image
baseline and a 40/80 GB GPU.

For each pair of configs (DAS, image baseline; default: the paper's VOC
setting, GSF-ResNet-50 PSPNet, T = 8, batch 4 of 380x380 per GPU, and its
Cityscapes setting, batch 1 of 512x1024), the model is built from the config
(random weights: the memory does not depend on them; SyncBN as BN, one
process) and one steady-state training step is measured with
:class:`das_mmseg.analysis.memory.LiveTensorMemory`: every tensor storage
counted while it lives, what CUDA's allocator reports as allocated. On the
``meta`` device (default) no data exists, so the paper's sizes are measured
in seconds on any machine. Rows:

- ``image baseline``: the baseline's weight step;
- ``DAS, weight step`` and ``DAS, α step``: a search iteration's two steps
  (the training phase's weight step is the same network on the policy's
  clip);
- ``DAS with_cp, ...``: the same with gradient checkpointing in the video
  backbone (``model.backbone.with_cp=True``: each ResNet block's forward,
  temporal module included, is recomputed in the backward pass).

``--device cpu`` runs the steps for real (small sizes: ``--size``,
``--batch``); ``--rss`` then also reads the process' resident memory during
one more weight step, an independent check of the count (run with
``MALLOC_MMAP_THRESHOLD_=65536`` so that freed activations leave the
resident set at once).
"""
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List

import torch
import torch.nn as nn

from ._sample import ROOT

HELP = ('memory of a DAS training step at the paper\'s sizes (meta device) '
        'vs the image baseline and 40/80 GB GPUs')

PAIRS = {
    'voc':
    ('configs/das/das-pspnet_gsf-r50-d8-t8_4xb4-40k_voc12aug-380x380.py',
     'configs/das/pspnet_r50-d8_4xb4-40k_voc12aug-380x380.py'),
    'cityscapes':
    ('configs/das/das-pspnet_gsf-r50-d8-t8_4xb1-80k_cityscapes-512x1024.py',
     'configs/das/pspnet_r50-d8_4xb1-80k_cityscapes-512x1024.py'),
}
GiB = 2**30
GPUS = (40, 80)  # GB of the A100/H100 cards


def add_arguments(parser) -> None:
    parser.add_argument(
        '--pairs',
        nargs='+',
        default=list(PAIRS),
        choices=list(PAIRS),
        help='the paper settings to measure')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=None,
        metavar=('H', 'W'),
        help='crop size instead of the config\'s')
    parser.add_argument(
        '--batch',
        type=int,
        default=None,
        help='images per GPU instead of the config\'s')
    parser.add_argument(
        '--no-cp',
        action='store_true',
        help='skip the gradient-checkpointing rows')
    parser.add_argument(
        '--rss',
        action='store_true',
        help=('--device cpu: also the resident memory of one more weight '
              'step, above its level before the step'))
    parser.set_defaults(device='meta')


@dataclass
class MemoryTable:
    """The rows of one setting; ``table()`` and ``to_dict()`` as
    :class:`das_mmseg.utils.benchmark.Comparison`."""
    name: str
    device: str
    rows: List[Dict[str, object]]
    settings: Dict[str, object] = field(default_factory=dict)

    def table(self) -> str:
        head = (f'{"candidate":<34}{"persistent GiB":>15}{"peak GiB":>10}'
                f'{"x image":>9}' + ''.join(f'{f"fits {g} GB":>11}'
                                            for g in GPUS))
        lines = [
            f'== {self.name} ({self.device}; ' +
            ', '.join(f'{k}={v}' for k, v in self.settings.items()) + ')', head
        ]
        for row in self.rows:
            lines.append(
                f'{row["candidate"]:<34}{row["persistent_gib"]:>15.2f}'
                f'{row["peak_gib"]:>10.2f}{row["x_image"]:>8.2f}x' +
                ''.join(f'{"yes" if row[f"fits_{g}gb"] else "no":>11}'
                        for g in GPUS))
            if 'rss_transient_gib' in row:
                lines.append(f'{"":<4}resident set above the step\'s start: '
                             f'{row["rss_transient_gib"]:.2f} GiB, counted '
                             f'transient: {row["transient_gib"]:.2f} GiB')
        return '\n'.join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


def build(config: str, device, size=None, batch=None, with_cp=False):
    """The model, its optimizer wrapper(s) and a synthetic batch of the
    config."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import das_mmseg  # noqa: F401
    from das_mmseg.analysis.memory import synthetic_batch
    from das_mmseg.engine import compose_search
    from das_mmseg.launch import adapt_to_cpu

    # the search composed: the optimizer wrappers the runner would build
    cfg = compose_search(Config.fromfile(osp.join(ROOT, config)))
    adapt_to_cpu(cfg)  # SyncBN as BN: one process
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.init_cfg = None  # random weights, no download
    if with_cp:
        cfg.model.backbone.with_cp = True
    size = tuple(size or cfg.crop_size)
    batch_size = batch or cfg.train_dataloader.batch_size
    cfg.model.data_preprocessor.size = size
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train().to(device)
    # SyncBN runs as BN on one process: at batch 1 (Cityscapes) the PPM's
    # 1x1 bin has one value per channel, which BN cannot normalise in
    # training (SyncBN over the GPUs' batches can). Its BNs use running
    # statistics here, in every row alike: the memory of maps of at most
    # 6x6 does not change the figures
    ppm = getattr(model.decode_head, 'psp_modules', None)
    for module in ppm.modules() if ppm is not None else ():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = synthetic_batch(batch_size, size, device)
    settings = dict(size=f'{size[0]}x{size[1]}', batch=batch_size)
    if cfg.model.get('clip_cell'):
        settings['frames'] = model.num_frames
    return model, wrapper, data, settings


def measure(config: str, args, with_cp=False) -> Dict[str, object]:
    from mmengine.optim import OptimWrapperDict

    from das_mmseg.analysis.memory import training_memory
    model, wrapper, data, settings = build(config, args.device, args.size,
                                           args.batch, with_cp)
    if isinstance(wrapper, OptimWrapperDict):
        steps = training_memory(model, data, wrapper['model'].optimizer,
                                wrapper['policy'].optimizer)
    else:
        steps = training_memory(model, data, wrapper.optimizer)
    rss = None
    if args.rss and args.device.type == 'cpu':
        rss = resident_weight_step(model, data, wrapper)
    return dict(steps=steps, settings=settings, rss=rss)


def resident_weight_step(model, data, wrapper) -> float:
    """Bytes the resident set grew by during one real weight step."""
    import copy

    from das_mmseg.utils.benchmark import PeakRSS
    optimizer = getattr(wrapper, 'optimizer',
                        None) or wrapper['model'].optimizer
    with PeakRSS(0.001) as probe:
        loss, _ = model.parse_losses(
            model(
                **model.data_preprocessor(copy.copy(data), True), mode='loss'))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return probe.peak_bytes


def row(candidate: str, step, image_peak: int, rss=None) -> dict:
    out = dict(
        candidate=candidate,
        persistent_gib=step.persistent / GiB,
        peak_gib=step.peak / GiB,
        transient_gib=step.transient / GiB,
        x_image=step.peak / image_peak)
    for gb in GPUS:
        out[f'fits_{gb}gb'] = step.peak < gb * 1e9
    if rss is not None:
        out['rss_transient_gib'] = rss / GiB
    return out


def run(args) -> list:
    if args.device.type == 'cuda':
        raise SystemExit(
            'memory: counts live tensors on the meta device or the CPU; on a '
            'GPU read torch.cuda.max_memory_allocated (tools/check_gpu.py)')
    if args.rss and args.device.type != 'cpu':
        raise SystemExit('memory: --rss needs --device cpu (a real step)')
    tables = []
    for pair in args.pairs:
        das_config, image_config = PAIRS[pair]
        image = measure(image_config, args)
        image_step = image['steps']['weight step']
        rows = [
            row('image baseline', image_step, image_step.peak, image['rss'])
        ]
        variants = [('DAS', False)
                    ] + ([] if args.no_cp else [('DAS with_cp', True)])
        for label, with_cp in variants:
            das = measure(das_config, args, with_cp)
            for step_name, step in das['steps'].items():
                rows.append(
                    row(f'{label}, {step_name}', step, image_step.peak,
                        das['rss'] if step_name == 'weight step' else None))
        tables.append(
            MemoryTable(f'memory of a training step: {pair}', str(args.device),
                        rows, das['settings']))
    return tables
