"""The foundation: the stack imports, a real Runner trains, evaluates and
resumes on the bundled CamVid sample, checkpoints load safely on torch >= 2.6,
the tools run, and bad input fails early and clearly."""
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from fixtures import ROOT, SAMPLE, run_tool
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

import das_mmseg  # noqa: F401
from das_mmseg.engine.checkpoint import UnsafeCheckpointError
from das_mmseg.launch import adapt_to_cpu, check_config_path, check_data_roots
from das_mmseg.utils import check_mmcv

SMOKE = osp.join(ROOT, 'configs', 'smoke_camvid_sample.py')


def smoke_cfg(work_dir, max_iters=20, **overrides):
    cfg = Config.fromfile(SMOKE)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = SAMPLE
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.param_scheduler[0].end = 40
    cfg.default_hooks.checkpoint.interval = 10
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.merge_from_dict(overrides)
    adapt_to_cpu(cfg)
    return cfg


def test_stack_versions_and_compiled_ops():
    import mmcv
    import mmengine
    import mmpretrain
    import mmseg
    import torchvision
    from mmcv.ops import nms

    assert check_mmcv() == mmcv.__version__ == '2.1.0'
    assert (mmengine.__version__, mmseg.__version__,
            mmpretrain.__version__) == ('0.10.7', '1.2.2', '1.2.0')
    assert int(np.__version__.split('.')[0]) >= 2
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)  # mmcv's compiled op
    expected = torchvision.ops.nms(boxes, scores, 0.5)
    assert keep.tolist() == expected.tolist() == [0, 2]


def test_registration_and_double_import(tmp_path):
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings
    from mmseg.registry import DATASETS

    assert DATASETS.get('CamVidDataset') is das_mmseg.datasets.CamVidDataset
    # what custom_imports in a config does, after the tools imported it
    import_modules_from_strings(['das_mmseg'])
    cfg = Config.fromfile(SMOKE)
    assert cfg.custom_imports.imports == ['das_mmseg', 'das_mmseg.safe_io']
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=SAMPLE))
    assert len(ds) == 16 and ds.metainfo['classes'][0] == 'sky'


class RecordResumeState(Hook):
    """Captures, at the start of training, the iteration and the state a resume
    restored."""

    def before_train(self, runner):
        model = runner.model.module if hasattr(runner.model,
                                               'module') else runner.model
        self.iter = runner.iter
        self.weight = model.decode_head.conv_seg.weight.detach().clone()
        state = runner.optim_wrapper.optimizer.state
        self.momentum = state[
            model.decode_head.conv_seg.weight]['momentum_buffer'].clone()
        self.lr = runner.optim_wrapper.get_lr()['lr'][0]


@pytest.mark.slow
def test_train_evaluate_and_resume(tmp_path):
    runner = Runner.from_cfg(
        smoke_cfg(tmp_path, max_iters=20, experiment_name='first'))
    runner.train()
    metrics = runner.val_loop.run()
    assert 0 <= metrics['mIoU'] <= 100 and np.isfinite(metrics['aAcc'])
    ckpt_path = osp.join(tmp_path, 'iter_20.pth')
    assert osp.isfile(ckpt_path) and open(
        osp.join(tmp_path, 'last_checkpoint')).read().strip() == ckpt_path

    # The checkpoint holds the objects that break mmengine's resume on torch
    # >= 2.6 ...
    ckpt = _load_checkpoint(ckpt_path)
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)

    # ... and a resumed run restores weights, optimizer state, scheduler and
    # iteration exactly.
    recorder = RecordResumeState()
    cfg = smoke_cfg(
        tmp_path, max_iters=30, resume=True, experiment_name='resumed')
    runner = Runner.from_cfg(cfg)
    runner.register_hook(recorder)
    runner.train()
    assert recorder.iter == 20 and runner.iter == 30
    assert torch.equal(recorder.weight,
                       ckpt['state_dict']['decode_head.conv_seg.weight'])
    saved_state = ckpt['optimizer']['state']
    assert any(
        torch.equal(recorder.momentum, s['momentum_buffer'])
        for s in saved_state.values())
    assert recorder.lr == pytest.approx(
        ckpt['optimizer']['param_groups'][0]['lr'])
    # history carried over
    assert runner.message_hub.get_scalar('train/loss').data[0].size > 20


def test_plain_state_dict_loads_as_pretrained(tmp_path):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    # as the Runner does: nested builds (the data preprocessor) look up mmseg's
    # scope
    init_default_scope('mmseg')
    cfg = smoke_cfg(tmp_path)
    source = MODELS.build(cfg.model)
    path = osp.join(tmp_path, 'backbone_imagenet.pth')
    # a plain state dict, as ImageNet weights are shipped
    torch.save(source.backbone.state_dict(), path)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=path)
    target = MODELS.build(cfg.model)
    target.init_weights()
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(target.backbone.state_dict()[key], value), key
    other = MODELS.build(cfg.model).backbone
    load_checkpoint(other, path, strict=True)
    assert torch.equal(other.stem[0].weight, source.backbone.stem[0].weight)


class _CallsFunction:
    """Pickles as a call of ``func(*args)``: what a malicious checkpoint
    does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize('payload', ['os.system', 'getattr'])
def test_unsafe_checkpoint_is_refused(tmp_path, payload):
    marker = tmp_path / 'pwned'
    if payload == 'os.system':
        evil = _CallsFunction(os.system, f'touch {marker}')
    # getattr is served only for HistoryBuffer's statistics methods, the way up
    # to its globals is closed
    else:
        evil = _CallsFunction(getattr, HistoryBuffer, '__init__')
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': evil}, path)

    with pytest.raises(UnsafeCheckpointError, match=re.escape(path)):
        _load_checkpoint(path)
    with pytest.raises(UnsafeCheckpointError, match=re.escape(path)):
        load_checkpoint(torch.nn.Linear(1, 1), path)
    assert not marker.exists()


@pytest.mark.slow
def test_unsafe_checkpoint_refused_on_resume(tmp_path):
    cfg = smoke_cfg(tmp_path, max_iters=10, experiment_name='evil_resume')
    path = str(tmp_path / 'iter_10.pth')
    torch.save({'meta': _CallsFunction(print, 'pwned')}, path)
    cfg.resume, cfg.load_from = True, path
    runner = Runner.from_cfg(cfg)
    with pytest.raises(
            UnsafeCheckpointError,
            match=r'Refusing to load checkpoint .*iter_10\.pth.*print'):
        runner.train()


def test_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))
    truncated = tmp_path / 'truncated.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(Exception):
        _load_checkpoint(str(truncated))


@pytest.mark.slow
def test_clear_errors_before_training(tmp_path):
    with pytest.raises(
            FileNotFoundError,
            match=r'configs/smoke_camvid_sample" does not exist.*Did you mean'
    ):
        check_config_path('configs/smoke_camvid_sample')
    cfg = smoke_cfg(tmp_path)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'missing_camvid')
    with pytest.raises(
            FileNotFoundError,
            match=(r'missing_camvid" of CamVidDataset does not '
                   r'exist.*"Datasets"')):
        check_data_roots(cfg)
    cfg = smoke_cfg(tmp_path)
    cfg.val_dataloader.dataset.data_prefix.img_path = 'img_dir/nowhere'
    with pytest.raises(FileNotFoundError, match=r'img_dir/nowhere.*README'):
        check_data_roots(cfg)
    # mmpretrain's plain-string form
    cfg.val_dataloader.dataset.data_prefix = 'img_dir/nowhere_str'
    with pytest.raises(
            FileNotFoundError, match=r'img_dir/nowhere_str.*README'):
        check_data_roots(cfg)

    cfg = smoke_cfg(tmp_path)
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    if not torch.cuda.is_available():
        with pytest.raises(
                RuntimeError, match=r'needs a CUDA device.*drop --amp'):
            adapt_to_cpu(cfg)

    proc = run_tool(['tools/train.py', 'configs/no_such_config.py'],
                    check=False)
    assert proc.returncode != 0 and ('config file "configs/no_such_config.py" '
                                     'does not exist') in proc.stderr
    proc = run_tool([
        'tools/train.py', 'configs/smoke_camvid_sample.py', '--work-dir',
        str(tmp_path / 'wd'), '--cfg-options',
        'train_dataloader.dataset.data_root=/data/not_here'
    ],
                    check=False)
    assert proc.returncode != 0 and ('"/data/not_here" of CamVidDataset does '
                                     'not exist') in proc.stderr
    # failed before the Runner created anything
    assert not osp.exists(tmp_path / 'wd')


def test_mmcv_checks(monkeypatch):
    import importlib

    import mmcv
    monkeypatch.setattr(mmcv, '__version__', '2.2.0')
    with pytest.raises(
            ImportError,
            match=r'mmcv==2\.2\.0 .*mmcv>=2\.0\.0rc4,<2\.2\.0.*build_mmcv\.sh'
    ):
        check_mmcv()
    monkeypatch.setattr(mmcv, '__version__', '2.1.0')
    real_import = importlib.import_module

    def without_ops(name, *args):
        if name == 'mmcv.ops':
            raise ModuleNotFoundError("No module named 'mmcv._ext'")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, 'import_module', without_ops)
    with pytest.raises(
            ImportError,
            match=r'without its compiled ops.*mmcv-lite.*make env'):
        check_mmcv()


@pytest.mark.slow
def test_cli_train_resume_and_test(tmp_path):
    wd = str(tmp_path / 'wd')
    base = [
        'tools/train.py', 'configs/smoke_camvid_sample.py', '--work-dir', wd,
        '--cfg-options', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False'
    ]
    run_tool(base + ['train_cfg.max_iters=20'])
    proc = run_tool(
        base +
        ['train_cfg.max_iters=30', 'train_cfg.val_interval=30', '--resume'])
    log = proc.stdout + proc.stderr
    assert ('resumed epoch: 0, iter: 20' in log
            and 'Iter(train) [30/30]' in log and 'mIoU' in log)

    out, show = str(tmp_path / 'pred'), str(tmp_path / 'show')
    proc = run_tool([
        'tools/test.py', 'configs/smoke_camvid_sample.py',
        osp.join(wd, 'iter_30.pth'), '--work-dir', wd, '--out', out,
        '--show-dir', show, '--tta', '--cfg-options',
        'default_hooks.visualization.interval=1'
    ])
    assert 'mIoU' in proc.stdout + proc.stderr
    assert len(os.listdir(out)) == 16
    assert sum(
        f.endswith('.png') for _, _, files in os.walk(show)
        for f in files) == 16


@pytest.mark.slow
def test_dist_train_two_processes_on_cpu(tmp_path):
    wd = str(tmp_path / 'dist')
    proc = run_tool([
        'tools/dist_train.sh', 'configs/smoke_camvid_sample.py', '2',
        '--work-dir', wd, '--cfg-options', 'train_cfg.max_iters=10',
        'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=10'
    ],
                    env={'PORT': '29731'})
    log = proc.stdout + proc.stderr
    assert "'backend': 'gloo'" in log or 'backend=gloo' in log.replace(
        "'", '').replace(' ', '')
    assert re.search(
        r'Distributed launcher: pytorch\s+Distributed training: True\s+GPU '
        r'number: 2', log)
    # the 16 val images split over 2 ranks
    assert 'Iter(val) [8/8]' in log and 'mIoU' in log
    assert osp.isfile(osp.join(wd, 'iter_10.pth'))


@pytest.mark.slow
@pytest.mark.skipif(
    not osp.isfile(osp.join(ROOT, '.venv', 'bin', 'python')),
    reason='the project .venv (make env) is not there')
def test_dist_scripts_find_the_project_venv_without_python_set():
    """PYTHON unset and no python with torch on the PATH: the launcher
    takes .venv/bin/python (the run gets as far as train.py's own check of
    the config path)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHON'}
    env['PATH'] = '/usr/bin:/bin'
    proc = subprocess.run(
        [osp.join(ROOT, 'tools', 'dist_train.sh'), 'configs/no_such.py', '1'],
        cwd=ROOT,
        env=dict(env, PORT='29733'),
        capture_output=True,
        text=True,
        timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "No module named 'torch'" not in log
    assert 'error: config file "configs/no_such.py" does not exist' in log


@pytest.mark.slow
def test_build_recipe_skips_installed_mmcv():
    proc = run_tool(['tools/setup/build_mmcv.sh'], timeout=120)
    assert 'already installed' in proc.stdout
    assert 'building' not in proc.stdout


@pytest.mark.slow
def test_benchmark_foundation_reports_ratios():
    proc = run_tool([
        'tools/benchmark.py', 'foundation', '--warmup', '1', '--repeats', '2',
        '--json'
    ])
    figures = json.loads(proc.stdout)['foundation: smoke training iteration']
    assert figures['baseline'] == 'plain torch' and figures['ratios'][
        'plain torch'] == 1.0
    assert set(figures['ratios']) == {'plain torch', 'mmengine train_step'}
    assert all(r > 0 for r in figures['ratios'].values()
               ) and figures['device'].startswith('cpu')
    assert pickle.loads(pickle.dumps(figures))  # plain data only
    assert sys.executable


@pytest.mark.slow
def test_train_prints_no_pkg_resources_notice_before_its_error(tmp_path):
    """The OpenMMLab packages import pkg_resources when a config inherits
    from mmseg:: (5 deprecation notices came before anything of ours); the
    entry points filter them. Here a missing dataset root stops the run
    early, after the config is read."""
    roots = [
        f'{loader}.dataset.data_root=/nonexistent'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    proc = run_tool([
        'tools/train.py',
        'configs/das/pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py',
        '--work-dir',
        str(tmp_path), '--cfg-options', *roots
    ],
                    check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0 and 'does not exist' in log
    assert 'pkg_resources' not in log
