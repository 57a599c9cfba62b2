"""DASSearchHook in a real mmengine Runner on the bundled CamVid sample: the
split, the α step that touches nothing but α, the three phases and their files,
the modes, bit-exact resume, and the guards."""
import json
import os.path as osp
import re

import cv2
import pytest
import torch
from fixtures import ROOT, SAMPLE
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import das_mmseg  # noqa: F401
from das_mmseg.augment.policy import Policy, PolicyError
from das_mmseg.datasets import DatasetPart, split_indices
from das_mmseg.engine.hooks import DASSearchHook
from das_mmseg.utils.launch import adapt_to_cpu

SMOKE = osp.join(ROOT, 'configs', 'smoke_camvid_sample.py')
CROP = (64, 64)

# tiny tensors: see conftest.one_thread; every test runs a Runner
pytestmark = [pytest.mark.usefixtures('one_thread'), pytest.mark.slow]


def search_cfg(work_dir,
               max_iters=6,
               num_workers=0,
               checkpoint_interval=100,
               val=False,
               **hook):
    """The smoke model as a ClipEncoderDecoder with a 2-frame relaxed ClipCell,
    small crops, and the hook."""
    cfg = Config.fromfile(SMOKE)
    cfg.work_dir = str(work_dir)
    cfg.crop_size = CROP
    cfg.train_pipeline[3].crop_size = CROP  # RandomCrop
    cfg.train_dataloader.dataset.pipeline = cfg.train_pipeline
    cfg.train_dataloader.batch_size = 2
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = SAMPLE
        # 48 images: skip the gc.collect() of serialisation
        cfg[loader].dataset.serialize_data = False
        cfg[loader].num_workers = num_workers
        # so that release_workers() can stop the workers
        cfg[loader].persistent_workers = False
    cfg.model.type = 'ClipEncoderDecoder'
    cfg.model.clip_cell = dict(type='ClipCell', num_frames=2, num_nodes=2)
    cfg.model.data_preprocessor.size = CROP
    # the main process RNG is not part of a checkpoint
    cfg.model.decode_head.dropout_ratio = 0.0
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
    if not val:
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.param_scheduler[0].end = max_iters
    cfg.default_hooks.checkpoint.interval = checkpoint_interval
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.custom_hooks = [dict(type='DASSearchHook', **hook)]
    cfg.randomness = dict(seed=0, deterministic=True)
    adapt_to_cpu(cfg)
    return cfg


def model_of(runner):
    return runner.model.module if hasattr(runner.model,
                                          'module') else runner.model


def das_hook(runner) -> DASSearchHook:
    return next(h for h in runner.hooks if isinstance(h, DASSearchHook))


class Probe(Hook):
    """Snapshots around the α step: registered once before (ABOVE_NORMAL) and
    once after (BELOW_NORMAL) it."""

    def __init__(self, records: list, after: bool) -> None:
        self.records, self.after = records, after

    @staticmethod
    def snapshot(runner) -> dict:
        model = model_of(runner)
        arch = {id(p) for p in model.clip_cell.arch_parameters()}
        state = runner.optim_wrapper.optimizer.state
        return dict(
            weights=[
                p.detach().clone() for p in model.parameters()
                if id(p) not in arch
            ],
            grads=[
                None if p.grad is None else p.grad.clone()
                for p in model.parameters() if id(p) not in arch
            ],
            buffers=[b.clone() for b in model.buffers()],
            optimizer={
                k: {
                    n: v.clone()
                    for n, v in s.items()
                }
                for k, s in ((id(p), state[p]) for p in state)
            },
            alpha=model.clip_cell.alpha.detach().clone(),
            phase=das_hook(runner).phase)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.after:
            self.records[-1]['after'] = self.snapshot(runner)
        else:
            self.records.append(
                dict(iter=runner.iter, before=self.snapshot(runner)))

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if self.after:
            self.records[-1]['end'] = self.snapshot(runner)


def train_with_probe(cfg):
    records = []
    runner = Runner.from_cfg(cfg)
    runner.register_hook(Probe(records, after=False), priority='ABOVE_NORMAL')
    runner.register_hook(Probe(records, after=True), priority='BELOW_NORMAL')
    runner.train()
    return runner, records


@pytest.fixture(scope='module')
def three_phases(tmp_path_factory):
    """Search 3 iterations, derive and write the policy, train 3 more with it,
    evaluate."""
    work_dir = tmp_path_factory.mktemp('three_phases')
    runner, records = train_with_probe(
        search_cfg(
            work_dir, max_iters=6, val=True, search_iters=3, log_interval=1))
    return runner, records, work_dir


def test_split_is_deterministic_and_disjoint(three_phases):
    weight, policy = split_indices(48, 0.5, seed=0)
    assert (weight, policy) == split_indices(48, 0.5, seed=0)
    assert split_indices(48, 0.5, seed=1) != (weight, policy)
    assert len(policy) == 24 and sorted(weight + policy) == list(range(48))
    assert len(split_indices(48, 0.25, seed=0)[1]) == 12

    runner, _, _ = three_phases
    hook = das_hook(runner)
    train_set = runner.train_dataloader.dataset
    # the runner sees the weight part
    assert isinstance(train_set, DatasetPart) and train_set.indices == weight
    assert hook._policy_loader.dataset.indices == policy
    image_of = train_set.dataset.get_data_info
    assert not {image_of(i)['img_path']
                for i in weight} & {image_of(i)['img_path']
                                    for i in policy}
    with pytest.raises(
            ValueError,
            match=r'policy_portion must be in \(0, 1\), but got 1\.5'):
        split_indices(48, 1.5)


def test_alpha_is_not_in_the_weight_optimizer(three_phases):
    runner, _, _ = three_phases
    arch = {id(p) for p in model_of(runner).clip_cell.arch_parameters()}
    in_optimizer = {
        id(p)
        for group in runner.optim_wrapper.optimizer.param_groups
        for p in group['params']
    }
    assert arch and not arch & in_optimizer
    assert all(id(p) not in arch for p in runner.optim_wrapper.optimizer.state)
    others = {id(p) for p in model_of(runner).parameters()} - arch
    assert others <= in_optimizer  # every weight still trains
    assert not any(
        p.requires_grad for p in model_of(runner).clip_cell.arch_parameters())


def test_alpha_step_changes_alpha_and_nothing_else(three_phases):
    _, records, _ = three_phases
    searched = [r for r in records if r['before']['phase'] == 'search']
    assert [r['iter'] for r in searched] == [0, 1, 2]
    for r in searched:
        before, after = r['before'], r['after']
        assert not torch.equal(before['alpha'], after['alpha']), r['iter']
        assert all(
            torch.equal(a, b)
            for a, b in zip(before['weights'], after['weights']))
        # BN statistics
        assert all(
            torch.equal(a, b)
            for a, b in zip(before['buffers'], after['buffers']))
        assert all(a is None and b is None
                   for a, b in zip(before['grads'], after['grads']))
        assert before['optimizer'].keys() == after['optimizer'].keys()
        assert all(
            torch.equal(before['optimizer'][k][n], after['optimizer'][k][n])
            for k in before['optimizer'] for n in before['optimizer'][k])
    # ... while the weight step that follows does train the weights and update
    # the BN statistics
    r = searched[1]
    assert not all(
        torch.equal(a, b)
        for a, b in zip(r['after']['weights'], r['end']['weights']))
    assert not all(
        torch.equal(a, b)
        for a, b in zip(r['after']['buffers'], r['end']['buffers']))


def test_three_phases_write_policy_pictures_and_train_on(three_phases):
    runner, records, work_dir = three_phases
    cell = model_of(runner).clip_cell
    policy = Policy.load(osp.join(work_dir, 'das_policy.json'))
    assert policy.to_dict() == cell.policy.to_dict() == cell.discretize(
    ).to_dict()
    assert policy.ops == cell.op_names and policy.num_frames == 2
    # after the switch (end of iteration 2) α is frozen and the cell runs the
    # discrete policy
    assert [r['before']['phase']
            for r in records] == ['search'] * 3 + ['train'] * 3
    frozen = records[2]['end']['alpha']
    assert all(torch.equal(r['end']['alpha'], frozen) for r in records[3:])
    assert not torch.equal(records[0]['before']['alpha'], frozen)
    assert runner.iter == 6 and not list(work_dir.glob('.*tmp'))

    heatmap = cv2.imread(str(work_dir / 'das_alpha.png'))
    assert heatmap is not None and heatmap.shape[0] > 100 and heatmap.std() > 0
    clip = cv2.imread(str(work_dir / 'das_clip.png'))
    height, width = clip.shape[:2]
    # two frames side by side
    assert width == 2 * (width // 2) and width // 2 > height // 2
    assert clip.std() > 10  # an image, not a blank

    logs = list(work_dir.glob('*/vis_data/scalars.json'))
    lines = [json.loads(line) for line in logs[0].read_text().splitlines()]
    assert any('das/alpha/edge0/identity' in line for line in lines)
    assert any('das_loss' in line for line in lines)
    assert any('mIoU' in line for line in lines)  # evaluated at the end


def test_search_only_then_train_from_the_policy_file(three_phases, tmp_path):
    runner = Runner.from_cfg(
        search_cfg(
            tmp_path / 'search', max_iters=6, mode='search', search_iters=2))
    runner.train()
    assert runner.iter == 2 and das_hook(runner).phase == 'train'
    Policy.load(str(tmp_path / 'search' / 'das_policy.json'))

    _, _, searched = three_phases
    policy_file = str(searched / 'das_policy.json')
    runner, records = train_with_probe(
        search_cfg(
            tmp_path / 'train',
            max_iters=2,
            mode='train',
            policy_file=policy_file))
    cell = model_of(runner).clip_cell
    assert cell.policy.to_dict() == Policy.load(policy_file).to_dict()
    # no split: every image trains the weights
    assert len(runner.train_dataloader.dataset) == 48
    assert all(
        torch.equal(r['before']['alpha'], records[0]['before']['alpha'])
        for r in records)
    arch = {id(p) for p in cell.arch_parameters()}
    assert not arch & {
        id(p)
        for g in runner.optim_wrapper.optimizer.param_groups
        for p in g['params']
    }


def release_workers(*runners):
    """Stop the dataloader workers now: left to a later garbage collection,
    each waits out a join timeout."""
    for runner in runners:
        runner.train_loop.dataloader_iterator = None
        das_hook(runner)._policy_stream = None


class Crash(Hook):
    """Stops a run after ``at`` iterations, as a killed job would."""

    def __init__(self, at):
        self.at = at

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt(f'killed after iteration {self.at}')


def test_resume_is_bit_exact_and_switches_once(tmp_path):
    # workers draw the random augmentations from per-worker seeds, so the data
    # streams replay exactly on resume
    hook = dict(search_iters=5, log_interval=1)
    whole = Runner.from_cfg(
        search_cfg(tmp_path / 'whole', max_iters=6, num_workers=1, **hook))
    whole.train()

    killed = Runner.from_cfg(
        search_cfg(
            tmp_path / 'resumed',
            max_iters=6,
            num_workers=1,
            checkpoint_interval=2,
            **hook))
    killed.register_hook(Crash(at=3))
    with pytest.raises(KeyboardInterrupt):
        killed.train()
    # the safe loader takes the search state
    ckpt = _load_checkpoint(str(tmp_path / 'resumed' / 'iter_2.pth'))
    state = ckpt['das_search']
    assert state['phase'] == 'search' and state['alpha_steps'] == 2 and state[
        'optimizer']['state']
    assert state['policy_indices'].tolist() == split_indices(48, 0.5, 0)[1]
    assert 'clip_cell.alpha' in ckpt['state_dict']

    cfg = search_cfg(tmp_path / 'resumed', max_iters=6, num_workers=1, **hook)
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    a, b = model_of(whole), model_of(resumed)
    # 3 α steps after the resume, bit for bit
    assert torch.equal(a.clip_cell.alpha, b.clip_cell.alpha)
    assert all(
        torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert das_hook(whole).history_steps == das_hook(resumed).history_steps
    release_workers(whole, killed, resumed)
    assert (tmp_path / 'whole' /
            'das_policy.json').read_text() == (tmp_path / 'resumed' /
                                               'das_policy.json').read_text()

    # A checkpoint of the search phase resumed with the switch point already
    # behind it switches once, at once.
    cfg = search_cfg(
        tmp_path / 'late', max_iters=4, search_iters=1, log_interval=1)
    cfg.resume, cfg.load_from = True, str(tmp_path / 'resumed' / 'iter_2.pth')
    late, records = train_with_probe(cfg)
    assert [r['before']['phase'] for r in records] == ['train', 'train']
    assert torch.equal(
        model_of(late).clip_cell.alpha, ckpt['state_dict']['clip_cell.alpha'])
    log = next((tmp_path / 'late').glob('*/*.log')).read_text()
    assert len(re.findall('search done after', log)) == 1
    assert osp.isfile(tmp_path / 'late' / 'das_policy.json')


def test_guards(tmp_path):
    with pytest.raises(
            ValueError, match=r'interval must be an integer >= 1.*got 0'):
        DASSearchHook(search_iters=2, interval=0)
    with pytest.raises(
            ValueError, match=r'mode must be one of .*got \'searching\''):
        DASSearchHook(search_iters=2, mode='searching')
    assert HOOKS.get('DASSearchHook') is DASSearchHook

    cfg = search_cfg(tmp_path / 'no_cell', max_iters=2, search_iters=1)
    cfg.model.clip_cell = None
    with pytest.raises(
            TypeError,
            match=(r'needs a model with a clip cell.*ClipEncoderDecoder has '
                   r'clip_cell=None')):
        Runner.from_cfg(cfg).train()

    cfg = search_cfg(
        tmp_path / 'small', max_iters=2, search_iters=1, policy_portion=0.03)
    with pytest.raises(
            ValueError,
            match=(r'the policy part holds 1 samples, fewer than one batch '
                   r'\(batch_size 2')):
        Runner.from_cfg(cfg).train()

    other = Policy(
        ops=('identity', 'shift_x'),
        nodes=(((0, 'shift_x'), ), ((2, 'identity'), )),
        magnitudes={'shift_x': 0.05},
        num_frames=2)
    other.save(str(tmp_path / 'other.json'))
    cfg = search_cfg(
        tmp_path / 'other',
        max_iters=2,
        mode='train',
        policy_file=str(tmp_path / 'other.json'))
    with pytest.raises(
            PolicyError,
            match=(
                r'policy .*other\.json does not fit .*op set \[\'identity\', '
                r'\'shift_x\'\]')):
        Runner.from_cfg(cfg).train()

    class PoisonAlpha(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == 1:
                model_of(runner).clip_cell.alpha.data[0, 0] = float('nan')

    runner = Runner.from_cfg(
        search_cfg(tmp_path / 'nan', max_iters=3, search_iters=2))
    runner.register_hook(PoisonAlpha(), priority='ABOVE_NORMAL')
    with pytest.raises(
            FloatingPointError, match=r'search loss is nan at iteration 1'):
        runner.train()

    runner = Runner.from_cfg(
        search_cfg(
            tmp_path / 'inf',
            max_iters=3,
            search_iters=2,
            optimizer=dict(type='SGD', lr=float('inf'))))
    with pytest.raises(
            FloatingPointError,
            match=(r'clip_cell\.alpha holds -?(inf|nan) after the step at '
                   r'iteration 0')):
        runner.train()
