"""Helpers shared by the test modules: plain constants and functions, imported
as ``from fixtures import ROOT, SAMPLE, run_tool`` (pytest puts ``tests/`` on
``sys.path``). The pytest fixtures and hooks themselves live in conftest.py."""
import os
import os.path as osp
import subprocess
import sys

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


def load_tool(path: str):
    """A tool script (path relative to the repo root) as a module, to call
    its ``main(argv)`` in this process (a subprocess costs seconds of
    imports)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        f'tool_{osp.basename(path)[:-3]}', osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
