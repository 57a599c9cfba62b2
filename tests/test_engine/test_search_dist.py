"""The DAS loop under tools/dist_train.sh: 2 processes over gloo on CPU,
without find_unused_parameters or any private torch call, keep α equal on
both ranks after every iteration, retrain, and export one policy."""
import glob
import json
import os.path as osp
import textwrap

import pytest
import torch
from fixtures import ROOT, SAMPLE, run_tool
from mmengine.runner.checkpoint import _load_checkpoint

import das_mmseg  # noqa: F401  the safe checkpoint loader
from das_mmseg.models import decode_cell_state

# mmengine's broadcast of a state_dict entry that is not a tensor

PROBE = '''
import json, os.path as osp
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DumpClipCell(Hook):
    """Each rank saves α after every iteration, whether α required grad
    when the run started (DDP had wrapped the model by then), its weights and
    its policy at the end."""

    def before_run(self, runner):
        cell = runner.model.module.clip_cell
        self.alphas = []
        self.requires_grad = [p.requires_grad
                              for p in cell.arch_parameters()]

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        cell = runner.model.module.clip_cell
        self.alphas.append(cell.alpha.detach().clone())

    def after_run(self, runner):
        model = runner.model.module
        torch.save(dict(alphas=torch.stack(self.alphas),
                        requires_grad=self.requires_grad,
                        wrapper=type(runner.model).__name__,
                        weights=model.backbone.stem[0].weight.detach()),
                   osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
        with open(osp.join(runner.work_dir, f'policy_rank{get_rank()}.json'),
                  'w') as f:
            json.dump(model.clip_cell.policy.to_dict(), f)
'''


@pytest.mark.slow
def test_two_processes_keep_alpha_equal_and_export_one_policy(tmp_path):
    (tmp_path / 'das_probe.py').write_text(PROBE)
    config = tmp_path / 'search_dist.py'
    config.write_text(
        textwrap.dedent(f'''
        _base_ = [{osp.join(ROOT, 'configs', 'smoke_camvid_sample.py')!r}]
        custom_imports = dict(imports=['das_mmseg', 'das_probe'],
                              allow_failed_imports=False)
        crop_size = (64, 64)
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='RandomResize', scale=(240, 180),
                 ratio_range=(0.5, 1.0), keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]
        train_dataloader = dict(
            batch_size=2, num_workers=0, persistent_workers=False,
            dataset=dict(data_root={SAMPLE!r}, pipeline=train_pipeline))
        val_dataloader = None
        val_cfg = None
        val_evaluator = None
        model = dict(type='ClipEncoderDecoder',
                     clip_cell=dict(type='ClipCell', num_frames=2,
                                    num_nodes=2),
                     data_preprocessor=dict(size=crop_size))
        train_cfg = dict(_delete_=True, type='DASIterBasedTrainLoop',
                         search_iters=3, max_iters=1, val_interval=100)
        optim_wrapper = dict(
            constructor='DASOptimWrapperConstructor',
            policy=dict(optimizer=dict(type='Adam', lr=3e-3,
                                       betas=(0.5, 0.999),
                                       weight_decay=1e-3)))
        param_scheduler = dict(
            _delete_=True,
            model=[dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0,
                        end=1, by_epoch=False)],
            policy=[])
        default_hooks = dict(checkpoint=dict(interval=4),
                             logger=dict(interval=1),
                             visualization=dict(type='SegVisualizationHook'))
        custom_hooks = [dict(type='DASPolicyHook', interval=1),
                        dict(type='DumpClipCell')]
    '''))
    wd = tmp_path / 'work'
    proc = run_tool(
        ['tools/dist_train.sh',
         str(config), '2', '--work-dir',
         str(wd)],
        env={
            'PORT': '29743',
            'PYTHONPATH': str(tmp_path),
            'OMP_NUM_THREADS': '1'
        },
        check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    assert 'find_unused_parameters' not in config.read_text()

    ranks = [torch.load(wd / f'rank{r}.pth') for r in (0, 1)]
    assert all(r['wrapper'] == 'MMDistributedDataParallel' for r in ranks)
    # α did not require grad when DDP wrapped the model: DDP never tracked it
    assert all(r['requires_grad'] == [False] for r in ranks)
    alphas = [r['alphas'] for r in ranks]  # (iterations, edges, ops) per rank
    assert alphas[0].shape[0] == 4
    # equal on both ranks after every iteration ...
    assert torch.equal(alphas[0], alphas[1])
    # ... while the search moves it, and frozen in the training phase
    assert not torch.equal(alphas[0][0], alphas[0][2])
    assert torch.equal(alphas[0][2], alphas[0][3])
    assert torch.equal(ranks[0]['weights'], ranks[1]['weights'])

    exported = json.loads((wd / 'das_policy.json').read_text())
    assert exported == json.loads(
        (wd / 'policy_rank0.json').read_text()) == json.loads(
            (wd / 'policy_rank1.json').read_text())
    ckpt = _load_checkpoint(str(wd / 'iter_4.pth'))
    assert torch.equal(ckpt['state_dict']['clip_cell.alpha'], alphas[0][-1])
    assert decode_cell_state(
        ckpt['state_dict']['clip_cell._extra_state'])['policy'] == exported
    info = ckpt['message_hub']['runtime_info']['das_loop']
    assert (info['phase'], info['alpha_steps']) == ('train', 3)


def test_the_engine_makes_no_private_ddp_call():
    """α stays out of DDP by requiring no gradient, not by private torch
    calls on the wrapper."""
    engine = osp.join(ROOT, 'das_mmseg', 'engine')
    sources = ''.join(
        open(path).read()
        for path in glob.glob(osp.join(engine, '**', '*.py'), recursive=True))
    assert 'DistributedDataParallel' not in sources
    assert '_set_params_and_buffers_to_ignore' not in sources


def rank_pid(parent: int, rank: int):
    """The pid of the torchrun worker of ``rank`` below ``parent``."""
    import os
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/environ', 'rb') as f:
                env = f.read().split(b'\0')
            with open(f'/proc/{pid}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except OSError:
            continue
        if f'RANK={rank}'.encode() in env and ppid == parent:
            return int(pid)
    return None


@pytest.mark.slow
def test_a_stuck_rank_ends_the_job_within_the_timeout(tmp_path):
    """SIGSTOP of one of two ranks: the other fails at its next collective
    after env_cfg.dist_cfg.timeout seconds (here 10) and torchrun ends the
    job, instead of waiting torch's 30 minutes."""
    import os
    import signal
    import subprocess
    import sys
    import time
    wd = tmp_path / 'work'
    cmd = [
        osp.join(ROOT, 'tools', 'dist_train.sh'),
        osp.join(ROOT, 'configs', 'smoke_camvid_sample.py'), '2', '--work-dir',
        str(wd), '--cfg-options', 'env_cfg.dist_cfg.timeout=10',
        'train_cfg.max_iters=100000', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'train_dataloader.dataset.data_root={SAMPLE}',
        f'val_dataloader.dataset.data_root={SAMPLE}'
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=dict(
            os.environ,
            PORT='29751',
            OMP_NUM_THREADS='1',
            PYTHON=sys.executable),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    stopped = None
    try:
        deadline = time.time() + 240
        while time.time() < deadline and stopped is None:
            logs = list(wd.glob('*/*.log'))
            if logs and 'Iter(train) [' in logs[0].read_text():
                # dist_train.sh execs torchrun: the workers are its children
                stopped = rank_pid(proc.pid, 1)
                os.kill(stopped, signal.SIGSTOP)
            time.sleep(1)
        assert stopped, 'training did not start'
        start = time.time()
        output, _ = proc.communicate(timeout=180)
        waited = time.time() - start
    finally:
        if stopped:
            try:
                os.kill(stopped, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.kill()
    assert proc.returncode != 0
    assert waited < 120, waited  # 10 s timeout + torchrun's teardown
    assert 'timed out' in output.lower() or 'timeout' in output.lower()
