"""Helpers shared by the test modules: plain constants and functions, imported
as ``from fixtures import ROOT, SAMPLE, run_tool`` (pytest puts ``tests/`` on
``sys.path``; a test module in a folder of tests/ imports them the same way).
Test modules import from here, never from one another. The pytest fixtures
and hooks themselves live in conftest.py (tests/ and its folders).

Heavy imports (torch, mmengine, das_mmseg) are made inside the functions: the
hostile battery imports this module too."""
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys
import uuid

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SAMPLE = osp.join(ROOT, 'data', 'camvid_sample')


def run_tool(args, timeout=300, env=None, check=True):
    """Run a project command (a list whose first item is a path relative to the
    repo root) with this Python."""
    cmd = list(args)
    if cmd[0].endswith('.py'):
        cmd = [sys.executable, osp.join(ROOT, cmd[0])] + cmd[1:]
    else:
        cmd[0] = osp.join(ROOT, cmd[0])
    full_env = dict(os.environ, PYTHON=sys.executable, **(env or {}))
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited with {proc.returncode}\n'
                             f'--- stdout ---\n{proc.stdout[-4000:]}\n'
                             f'--- stderr ---\n{proc.stderr[-4000:]}')
    return proc


def load_tool(name):
    """A tool script as a module, to call its ``main(argv)`` in this process
    (a subprocess costs seconds of imports)."""
    spec = importlib.util.spec_from_file_location(
        f'tool_{osp.basename(name)[:-3]}', osp.join(ROOT, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clear_global_instances():
    """Start as a fresh process does, with no default registry scope and no
    visualizer.

    A Runner of an earlier test leaves its scope (mmseg's or mmpretrain's)
    current, which makes registry lookups depend on test order, and its
    visualizer (configs name it 'visualizer') would be reused with the earlier
    work_dir. mmengine has no public way to drop them, so the managers'
    instance tables are cleared.
    """
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer
    DefaultScope._instance_dict.clear()
    # each ManagerMixin subclass (SegLocalVisualizer, ...) keeps its own table
    pending = [Visualizer]
    while pending:
        cls = pending.pop()
        cls._instance_dict.clear()
        pending.extend(cls.__subclasses__())


SMOKE_CONFIG = osp.join(ROOT, 'configs', 'smoke_camvid_sample.py')
NUM_CLASSES = 11  # CamVid's


def search_cfg(work_dir,
               loop: str = 'DASIterBasedTrainLoop',
               crop=(64, 64),
               num_workers: int = 0,
               checkpoint_interval: int = -1,
               val: bool = False,
               train_images=None,
               scheduler_end=None,
               **loop_cfg):
    """The smoke config as a DAS search: the tiny FCN as a
    ``ClipEncoderDecoder`` with a 2-frame, 2-node relaxed ``ClipCell``, batches
    of 2 small crops of the bundled CamVid sample, the DAS loop, optimizer
    constructor and policy hook; no dropout (the main process' random state is
    not in a checkpoint). ``loop_cfg`` goes to ``train_cfg``."""
    from mmengine.config import Config

    from das_mmseg.launch import adapt_to_cpu
    cfg = Config.fromfile(SMOKE_CONFIG)
    cfg.work_dir = str(work_dir)
    # mmengine names a runner's message hub after the config file and the
    # second it started: two runners of one test within a second would share
    # one hub, and a resumed run would read the earlier run's loop state
    cfg.experiment_name = f'search_{uuid.uuid4().hex}'
    # unused here; the config is formatted into the log and every checkpoint
    for key in ('tta_model', 'tta_pipeline', 'img_ratios', 'test_pipeline'):
        cfg.pop(key, None)
    # light augmentation: the pipeline dominates an iteration at this size
    cfg.train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(
            type='RandomResize',
            scale=(240, 180),
            ratio_range=(0.5, 1.0),
            keep_ratio=True),
        dict(type='RandomCrop', crop_size=crop, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs'),
    ]
    cfg.train_dataloader.dataset.pipeline = cfg.train_pipeline
    cfg.train_dataloader.batch_size = 2
    by_epoch = loop == 'DASEpochBasedTrainLoop'
    if by_epoch:
        cfg.train_dataloader.sampler = dict(
            type='DefaultSampler', shuffle=True)
    if train_images is not None:
        cfg.train_dataloader.dataset.indices = train_images
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = SAMPLE
        # 48 images: skip the gc.collect() of serialisation
        cfg[loader].dataset.serialize_data = False
        cfg[loader].num_workers = num_workers
        # non-persistent workers end with their loop
        cfg[loader].persistent_workers = False
    cfg.val_dataloader.dataset.indices = 2
    cfg.model.type = 'ClipEncoderDecoder'
    cfg.model.clip_cell = dict(
        type='ClipCell', num_frames=2, num_nodes=2, magnitude_seed=0)
    cfg.model.data_preprocessor.size = crop
    cfg.model.decode_head.dropout_ratio = 0.0
    length = loop_cfg.get('max_epochs' if by_epoch else 'max_iters', 3)
    cfg.train_cfg = dict(type=loop, **loop_cfg)
    cfg.train_cfg.setdefault('max_epochs' if by_epoch else 'max_iters', length)
    cfg.train_cfg.setdefault('val_interval', length)
    if not val:
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.optim_wrapper = dict(
        constructor='DASOptimWrapperConstructor',
        type='OptimWrapper',
        optimizer=cfg.optimizer,
        clip_grad=None,
        policy=dict(
            type='OptimWrapper',
            optimizer=dict(
                type='Adam', lr=3e-3, betas=(0.5, 0.999), weight_decay=1e-3)))
    cfg.param_scheduler = dict(
        model=[
            dict(
                type='PolyLR',
                eta_min=1e-4,
                power=0.9,
                begin=0,
                end=scheduler_end or length,
                by_epoch=by_epoch)
        ],
        policy=[])
    cfg.default_hooks.checkpoint.interval = checkpoint_interval
    cfg.default_hooks.checkpoint.by_epoch = by_epoch
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.logger.log_metric_by_epoch = by_epoch
    cfg.log_processor = dict(by_epoch=by_epoch)
    cfg.custom_hooks = [dict(type='DASPolicyHook', interval=1)]
    cfg.randomness = dict(seed=0, deterministic=True)
    adapt_to_cpu(cfg)
    return cfg


def search_model(cfg, **cell):
    """The model of a ``search_cfg`` in training mode, its clip cell updated
    with ``cell``, its weights drawn from seed 0."""
    import copy

    import torch
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    model = copy.deepcopy(cfg.model)
    model.clip_cell.update(cell)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(model).train()


def das_optim_wrapper(model, **cfg):
    """The wrappers ``DASOptimWrapperConstructor`` builds for ``model``:
    SGD for the weights, the rest of the optimizer-wrapper config from
    ``cfg``."""
    from mmengine.optim import build_optim_wrapper
    return build_optim_wrapper(
        model,
        dict(
            dict(
                constructor='DASOptimWrapperConstructor',
                optimizer=dict(type='SGD', lr=0.01, momentum=0.9)), **cfg))


# --- a tiny CamVid run, damaged files ---------------------------------------


def camvid_val_pair(*steps: dict, pack: dict = None) -> list:
    """The first two CamVid validation images of the bundled sample with
    their labels, resized to 64x80, then ``steps``, then packed
    (``PackSegInputs``, updated by ``pack``); collated."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='CamVidDataset',
            data_root=SAMPLE,
            data_prefix=dict(
                img_path='img_dir/val', seg_map_path='ann_dir/val'),
            indices=2,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='Resize', scale=(80, 64), keep_ratio=False), *steps,
                dict(type='PackSegInputs', **(pack or {}))
            ]))
    return pseudo_collate([dataset[0], dataset[1]])


def tiny_dataset(root, n_train=4, n_val=2):
    """A copy of the first images of the bundled sample, in mmseg's layout;
    returns {split: [(image path, label path), ...]}."""
    pairs = {}
    for split, n in (('train', n_train), ('val', n_val)):
        names = sorted(os.listdir(osp.join(SAMPLE, 'img_dir', split)))[:n]
        pairs[split] = []
        for kind in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(root, kind, split), exist_ok=True)
        for name in names:
            stem = name[:-4]
            img = osp.join(root, 'img_dir', split, name)
            ann = osp.join(root, 'ann_dir', split, stem + '.png')
            shutil.copy(osp.join(SAMPLE, 'img_dir', split, name), img)
            shutil.copy(osp.join(SAMPLE, 'ann_dir', split, stem + '.png'), ann)
            pairs[split].append((img, ann))
    return pairs


def put_label_value(ann_path, value, pixels=7):
    """Write ``value`` into the first pixels of a label map."""
    import cv2
    seg = cv2.imread(ann_path, cv2.IMREAD_UNCHANGED)
    seg.flat[:pixels] = value
    cv2.imwrite(ann_path, seg)


def guarded(pipeline):
    """The pipeline with CheckSegLabels right after LoadAnnotations."""
    out = []
    for step in pipeline:
        out.append(step)
        if step['type'] == 'LoadAnnotations':
            out.append(dict(type='CheckSegLabels', num_classes=NUM_CLASSES))
    return out


def tiny_cfg(data_root, work_dir, max_iters=10, guard=True, **overrides):
    """The smoke config on ``data_root`` (e.g. a ``tiny_dataset``), with
    ``CheckSegLabels`` in every pipeline, or in none."""
    from mmengine.config import Config

    from das_mmseg.launch import adapt_to_cpu
    cfg = Config.fromfile(SMOKE_CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(data_root)
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
        # the configs hold the guard: set it here, or take it out
        pipeline = [
            t for t in cfg[loader].dataset.pipeline
            if t['type'] != 'CheckSegLabels'
        ]
        cfg[loader].dataset.pipeline = guarded(pipeline) if guard else pipeline
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.merge_from_dict(overrides)
    adapt_to_cpu(cfg)
    return cfg


def truncate(path, keep=0.5):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:int(len(data) * keep)])


def damage_jpeg_data(path):
    """Change bytes inside the entropy-coded data: the file keeps its length
    and end marker, decoders return garbage pixels and only warn."""
    data = bytearray(open(path, 'rb').read())
    for i in range(len(data) // 4, len(data) - 100, 97):
        data[i] = (data[i] * 7 + 13) % 256
    open(path, 'wb').write(bytes(data))


# --- small segmentors on real CamVid images ---------------------------------

NORM = dict(type='BN', requires_grad=True)
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def backbone_cfg(video: bool = False) -> dict:
    """A ResNetV1c-18, or its GSF video variant (T: the segmentor's)."""
    cfg = dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 1, 1),
        norm_cfg=NORM,
        contract_dilation=True)
    if video:
        cfg.update(type='VideoResNetV1c')
    return cfg


def head_cfg(kind: str = 'FCNHead',
             in_index: int = 3,
             in_channels: int = 128) -> dict:
    common = dict(
        in_channels=in_channels,
        in_index=in_index,
        channels=16,
        num_classes=NUM_CLASSES,
        norm_cfg=NORM,
        dropout_ratio=0,
        align_corners=False)
    extra = dict(
        FCNHead=dict(num_convs=1, concat_input=False),
        PSPHead=dict(pool_scales=(1, 2, 3, 6)),
        DepthwiseSeparableASPPHead=dict(
            dilations=(1, 2, 3, 4), c1_in_channels=16, c1_channels=8))[kind]
    return dict(type=kind, **common, **extra)


def segmentor_cfg(clip: bool = True,
                  fusion: str = 'logits',
                  num_frames=None,
                  video: bool = False,
                  head: str = 'FCNHead',
                  aux: bool = False,
                  **kwargs) -> dict:
    cfg = dict(
        type='ClipEncoderDecoder' if clip else 'EncoderDecoder',
        data_preprocessor=dict(
            type='ClipSegDataPreProcessor' if clip else 'SegDataPreProcessor',
            mean=MEAN,
            std=STD,
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255,
            size_divisor=16),
        backbone=backbone_cfg(video),
        decode_head=head_cfg(head),
        auxiliary_head=head_cfg('FCNHead', in_index=2, in_channels=64)
        if aux else None,
        test_cfg=dict(mode='whole'))
    if clip:
        cfg.update(fusion=fusion, num_frames=num_frames, **kwargs)
    return cfg


def build(cfg: dict, seed: int = 0):
    """The model of ``cfg`` in mmseg's scope, its weights drawn from
    ``seed``."""
    import copy

    import torch
    from mmengine.config import ConfigDict
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    return MODELS.build(ConfigDict(copy.deepcopy(cfg)))


def shift_policy(num_frames: int) -> dict:
    """A discrete policy whose frames are whole-pixel pans of an 80-pixel-wide,
    64-pixel-high image: 4 px right and 4 px down per frame step (a composition
    of two single-warp nodes, so each frame is one affine warp)."""
    return dict(
        version=2,
        ops=['identity', 'shift_x', 'shift_y', 'zoom', 'rotate'],
        nodes=[[[0, 'shift_x', 0.05]], [[2, 'shift_y', 0.0625]]],
        num_frames=num_frames,
        progression='signed')


def cell_cfg(num_frames: int, policy=None) -> dict:
    return dict(
        type='ClipCell',
        num_frames=num_frames,
        num_nodes=2,
        progression='signed',
        mean=MEAN,
        std=STD,
        policy=policy)


def losses_of(model, data: dict) -> dict:
    import copy
    processed = model.data_preprocessor(copy.deepcopy(data), training=True)
    return model.loss(processed['inputs'], processed['data_samples'])


# --- a toy clip model -------------------------------------------------------


def toy_clip_model():
    """A clip cell, a conv + BN + tanh layer per frame, a 1x1 head, logits
    averaged over the frames, cross-entropy against per-pixel labels."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from mmengine.model import BaseModel

    from das_mmseg.models import ClipCell

    class ToyClipModel(BaseModel):

        def __init__(self):
            super().__init__()
            self.clip_cell = ClipCell(
                ops=('identity', 'shift_x', 'zoom', 'rotate'),
                num_frames=3,
                num_nodes=2,
                magnitude_seed=3)
            self.conv = nn.Conv2d(3, 6, 3, padding=1)
            self.bn = nn.BatchNorm2d(6)
            self.head = nn.Conv2d(6, 3, 1)

        def forward(self, inputs, labels, mode='loss'):
            clip = self.clip_cell(inputs)  # (N, T, C, H, W)
            n, t = clip.shape[:2]
            x = self.head(torch.tanh(self.bn(self.conv(clip.flatten(0, 1)))))
            logits = x.view(n, t, *x.shape[1:]).mean(1)
            return dict(loss=F.cross_entropy(logits, labels))

    return ToyClipModel()


def toy(dtype=None, momentum=0.9, weight_decay=1e-2):
    """The toy clip model (float64 unless ``dtype``) with a random α, three
    batches, a weight wrapper that has taken a real step (momentum buffers to
    use) and a plain SGD policy wrapper (lr 1): ``(model, wrapper, policy,
    batches)``."""
    import torch
    from mmengine.optim import OptimWrapper

    from das_mmseg.engine.arch_step import batch_loss
    dtype = torch.float64 if dtype is None else dtype
    torch.manual_seed(0)
    model = toy_clip_model().to(dtype).train()
    with torch.no_grad():
        model.clip_cell.alpha.normal_()
    batches = [
        dict(
            inputs=torch.rand(2, 3, 12, 12, dtype=dtype),
            labels=torch.randint(3, (2, 12, 12))) for _ in range(3)
    ]
    weights = [p for n, p in model.named_parameters() if 'clip_cell' not in n]
    wrapper = OptimWrapper(
        torch.optim.SGD(
            weights, lr=0.1, momentum=momentum, weight_decay=weight_decay))
    # a real weight step first: momentum buffers to use
    wrapper.update_params(batch_loss(model, batches[2]))
    policy = OptimWrapper(
        torch.optim.SGD(model.clip_cell.arch_parameters(), lr=1.0))
    return model, wrapper, policy, batches
