"""DASSearchHook under tools/dist_train.sh: 2 processes over gloo on CPU,
without find_unused_parameters, keep α equal on both ranks through the search
and export the same policy on both."""
import json
import os.path as osp
import textwrap

import pytest
import torch
from fixtures import ROOT, SAMPLE, run_tool
from mmengine.runner.checkpoint import _load_checkpoint

import das_mmseg  # noqa: F401  the safe checkpoint loader

PROBE = '''
import json, os.path as osp
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DumpClipCell(Hook):
    """Each rank saves its α after every α step (iteration) and its derived
    policy at the end."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        cell = runner.model.module.clip_cell
        self.alphas = getattr(self, 'alphas', []) + [
            cell.alpha.detach().clone()]

    def after_run(self, runner):
        cell = runner.model.module.clip_cell
        torch.save(dict(alphas=torch.stack(self.alphas),
                        wrapper=type(runner.model).__name__,
                        ignored=sorted(runner.model.parameters_to_ignore)),
                   osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
        with open(osp.join(runner.work_dir, f'policy_rank{get_rank()}.json'),
                  'w') as f:
            json.dump(cell.policy.to_dict(), f)
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
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=4,
                         val_interval=100)
        param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9,
                                begin=0, end=4, by_epoch=False)]
        default_hooks = dict(checkpoint=dict(interval=4),
                             logger=dict(interval=1),
                             visualization=dict(type='SegVisualizationHook'))
        custom_hooks = [
            dict(type='DASSearchHook', search_iters=3, log_interval=1),
            dict(type='DumpClipCell')
        ]
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
        })
    log = proc.stdout + proc.stderr
    assert ('Distributed training: True' in log
            and 'find_unused_parameters' not in open(config).read())
    assert ('DDP rebuilt with clip_cell.alpha, clip_cell.magnitude_logit '
            'ignored') in log

    ranks = [torch.load(wd / f'rank{r}.pth') for r in (0, 1)]
    assert all(r['wrapper'] == 'MMDistributedDataParallel' for r in ranks)
    assert all(
        {'clip_cell.alpha', 'clip_cell.magnitude_logit'} <= set(r['ignored'])
        for r in ranks)
    alphas = [r['alphas'] for r in ranks]  # (iterations, edges, ops) per rank
    assert alphas[0].shape[0] == 4
    # equal on both ranks after every iteration
    assert torch.equal(alphas[0], alphas[1])
    # ... while the search moves it
    assert not torch.equal(alphas[0][0], alphas[0][2])
    # frozen after the switch at iteration 3
    assert torch.equal(alphas[0][2], alphas[0][3])

    exported = json.loads((wd / 'das_policy.json').read_text())
    assert exported == json.loads(
        (wd / 'policy_rank0.json').read_text()) == json.loads(
            (wd / 'policy_rank1.json').read_text())
    ckpt = _load_checkpoint(str(wd / 'iter_4.pth'))
    assert torch.equal(ckpt['state_dict']['clip_cell.alpha'], alphas[0][-1])
    assert ckpt['das_search']['phase'] == 'train'
