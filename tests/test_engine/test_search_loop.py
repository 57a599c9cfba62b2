"""The DAS train loops in a real mmengine Runner on the bundled CamVid sample:
the phases and the retrain from the initial state, the files and the log,
bit-exact resume in every phase, changed settings on resume, the two-stage
route, the warm start, the epoch-based loop, and the guards."""
import json
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
from fixtures import search_cfg
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import das_mmseg  # noqa: F401
from das_mmseg.augment import Policy, PolicyError
from das_mmseg.datasets import DatasetSplit, split_indices
from das_mmseg.engine.runner import DASIterBasedTrainLoop
from das_mmseg.models import decode_cell_state

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('one_thread')]


def model_of(runner):
    return getattr(runner.model, 'module', runner.model)


class Probe(Hook):
    """What the weight step of each iteration starts from and ends with."""

    priority = 'VERY_HIGH'

    def __init__(self):
        self.records = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model, loop = model_of(runner), runner.train_loop
        cell = model.clip_cell
        arch = {id(p) for p in cell.arch_parameters()}
        optimizer = runner.optim_wrapper['model'].optimizer
        record = dict(
            iter=runner.iter,
            epoch=runner.epoch,
            phase=loop.phase,
            alpha=cell.alpha.detach().clone(),
            weights=[
                p.detach().clone() for p in model.parameters()
                if id(p) not in arch
            ],
            buffers=[
                b.clone() for n, b in model.named_buffers()
                if not n.startswith('clip_cell')
            ],
            momentum=len(optimizer.state),
            lr=optimizer.param_groups[0]['lr'],
            images=[s.img_path for s in data_batch['data_samples']])
        if loop.phase == 'search':
            record.update(
                weight_part=loop.weight_dataloader.dataset,
                policy_part=loop.policy_dataloader.dataset)
        self.records.append(record)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.records[-1]['alpha_after'] = model_of(
            runner).clip_cell.alpha.detach().clone()


def train(cfg, *hooks):
    runner = Runner.from_cfg(cfg)
    probe = Probe()
    for hook in (probe, ) + hooks:
        runner.register_hook(hook)
    runner.train()
    return runner, probe.records


def state_of(runner) -> dict:
    return {
        k: v.clone()
        for k, v in model_of(runner).state_dict().items() if torch.is_tensor(v)
    }


def scalars(work_dir) -> list:
    path = next(work_dir.glob('*/vis_data/scalars.json'))
    return [json.loads(line) for line in path.read_text().splitlines()]


def log_text(work_dir) -> str:
    return next(work_dir.glob('*/*.log')).read_text()


def assert_same_state(a: dict, b: dict, skip: str = None):
    keys = [k for k in a if skip is None or not k.startswith(skip)]
    assert keys and set(keys) <= set(b)
    different = [k for k in keys if not torch.equal(a[k], b[k])]
    assert not different, different


def resume_cfg(work_dir, checkpoint, num_workers=1, **loop):
    cfg = search_cfg(work_dir, num_workers=num_workers, **loop)
    cfg.load_from, cfg.resume = str(checkpoint), True
    return cfg


# --- one command: search, derive, retrain -----------------------------------

SEARCH = dict(search_iters=3, max_iters=3)


@pytest.fixture(scope='module')
def one_command(tmp_path_factory):
    """Search 3 iterations, switch, retrain 3 iterations on the whole set,
    evaluate; a checkpoint after every iteration. One worker per loader:
    workers are seeded per worker, so resumed streams replay exactly."""
    work_dir = tmp_path_factory.mktemp('one_command')
    runner, records = train(
        search_cfg(
            work_dir, num_workers=1, checkpoint_interval=1, val=True,
            **SEARCH))
    return dict(
        runner=runner,
        records=records,
        work_dir=work_dir,
        state=state_of(runner))


def test_search_then_retrain_from_the_initial_state(one_command):
    runner, records = one_command['runner'], one_command['records']
    loop = runner.train_loop
    assert isinstance(loop, DASIterBasedTrainLoop)
    assert [r['phase'] for r in records] == ['search'] * 3 + ['train'] * 3
    assert runner.iter == loop.max_iters == 6 and loop.search_iters == 3
    search, retrain = records[:3], records[3:]
    # each search iteration steps α; the training phase leaves it
    assert all(not torch.equal(r['alpha'], r['alpha_after']) for r in search)
    assert all(
        torch.equal(r['alpha'], search[-1]['alpha_after']) for r in retrain)
    assert all(torch.equal(r['alpha'], r['alpha_after']) for r in retrain)
    # the weights trained during the search ...
    assert not all(
        torch.equal(a, b)
        for a, b in zip(search[0]['weights'], search[2]['weights']))
    assert search[1]['momentum'] and search[2]['lr'] < search[0]['lr']
    # ... and the retrain starts from the initial weights, BN statistics,
    # optimizer state and schedule
    first = retrain[0]
    assert all(
        torch.equal(a, b)
        for a, b in zip(search[0]['weights'], first['weights']))
    assert all(
        torch.equal(a, b)
        for a, b in zip(search[0]['buffers'], first['buffers']))
    assert first['momentum'] == 0 and first['lr'] == search[0]['lr']
    assert [r['lr'] for r in retrain] == [r['lr'] for r in search]

    # the weights train on their part during the search, the policy on the
    # other, the retrain on the whole set
    weight, policy = split_indices(48, 0.5, seed=0)
    part = search[0]['weight_part']
    assert isinstance(part, DatasetSplit) and part.indices == weight
    assert search[0]['policy_part'].indices == policy
    weight_images = {part.get_data_info(i)['img_path'] for i in range(24)}
    assert all(set(r['images']) <= weight_images for r in search)
    assert len(runner.train_dataloader.dataset) == 48
    assert loop.policy_dataloader is None and loop.weight_dataloader is None

    cell = model_of(runner).clip_cell
    exported = Policy.load(str(one_command['work_dir'] / 'das_policy.json'))
    assert exported == cell.policy
    assert cell.policy.to_dict() == cell.discretize().to_dict()


def test_files_pictures_and_log(one_command):
    work_dir = one_command['work_dir']
    heatmap = cv2.imread(str(work_dir / 'das_alpha.png'))
    assert heatmap is not None and heatmap.shape[0] > 100
    assert heatmap.std() > 0
    clip = cv2.imread(str(work_dir / 'das_clip.png'))
    # two 64x64 frames side by side, each framed by 3 pixels
    assert clip.shape == (70, 140, 3) and clip.std() > 10
    assert (clip[0, 70:] == 255).all() and (clip[0, :70] == 0).all()
    assert not list(work_dir.glob('.*tmp'))

    lines = scalars(work_dir)
    train = [line for line in lines if 'loss' in line]
    assert [line['step'] for line in train] == [1, 2, 3, 4, 5, 6]
    # measured at the search iterations only
    assert ['das_loss' in line for line in train] == [True] * 3 + [False] * 3
    for key in ('das_alpha_entropy', 'das_identity_pull'):
        assert [key in line for line in train] == [True] * 3 + [False] * 3
    # das_alpha.json: what das_alpha.png draws, and every α step's
    # diagnostics, equal to the logged ones
    data = json.loads((work_dir / 'das_alpha.json').read_text())
    assert data['ops'] == list(
        model_of(one_command['runner']).clip_cell.op_names)
    assert len(data['weights']) == len(data['iterations']) >= 2
    assert [d['iteration'] for d in data['diagnostics']] == [1, 2, 3]
    losses = [step['das_loss'] for step in data['diagnostics']]
    for n, (step, line) in enumerate(zip(data['diagnostics'], train)):
        # the log averages losses over its window; the others are as measured
        assert np.mean(losses[:n + 1]) == pytest.approx(line['das_loss'])
        assert step['alpha_entropy'] == pytest.approx(
            line['das_alpha_entropy'])
        assert 0.9 < step['alpha_entropy'] <= 1  # α starts near uniform
        assert step['identity_pull'] == pytest.approx(
            line['das_identity_pull'])
    assert any('das/alpha/edge0/identity' in line for line in lines)
    assert any('das/displacement/frame1' in line for line in lines)
    assert 'mIoU' in lines[-1] and lines[-1]['step'] == 6
    log = log_text(work_dir)
    assert len(re.findall(r'search done at iteration 3 \(3 α steps\)',
                          log)) == 1
    assert 'restored to their initial state' in log

    mid = _load_checkpoint(str(work_dir / 'iter_2.pth'))
    info = mid['message_hub']['runtime_info']
    assert info['das_loop']['phase'] == 'search'
    assert info['das_loop']['alpha_steps'] == 2
    # the initial state is written once, to a file of its own, not into
    # every search checkpoint
    assert 'das_initial_state' not in info
    initial_file = work_dir / 'das_initial_state.pth'
    assert info['das_loop']['initial_state_file'] == str(initial_file)
    initial = _load_checkpoint(str(initial_file))
    assert set(initial) == {'model', 'optimizer', 'schedulers'}
    assert not any(key.startswith('clip_cell') for key in initial['model'])
    assert osp.getsize(
        work_dir / 'iter_2.pth') < 1.1 * osp.getsize(work_dir / 'iter_4.pth')
    assert len(info['das_alpha_history']['iterations']) == 2
    after = _load_checkpoint(str(work_dir / 'iter_4.pth'))
    info = after['message_hub']['runtime_info']
    assert info['das_loop']['phase'] == 'train'
    assert 'das_initial_state' not in info
    # the policy travels in the state dict
    assert decode_cell_state(
        after['state_dict']['clip_cell._extra_state'])['policy'] == (
            model_of(one_command['runner']).clip_cell.policy.to_dict())


@pytest.mark.parametrize(
    'at', [2, 3, 4], ids=['during_search', 'at_switch', 'during_retrain'])
def test_resume_is_bit_exact_in_every_phase(one_command, tmp_path, at):
    runner, records = train(
        resume_cfg(tmp_path, one_command['work_dir'] / f'iter_{at}.pth',
                   **SEARCH))
    assert runner.iter == 6
    assert [r['iter'] for r in records] == list(range(at, 6))
    assert_same_state(one_command['state'], state_of(runner))
    assert model_of(runner).clip_cell.policy == model_of(
        one_command['runner']).clip_cell.policy
    hub = runner.message_hub.get_info('das_alpha_history')
    whole = one_command['runner'].message_hub.get_info('das_alpha_history')
    assert hub['iterations'] == whole['iterations'] == [1, 2, 3]
    assert all(
        torch.equal(a, b) for a, b in zip(hub['weights'], whole['weights']))
    switched = at <= 3
    assert (tmp_path / 'das_policy.json').exists() == switched
    if switched:
        assert (tmp_path / 'das_policy.json').read_text() == (
            one_command['work_dir'] / 'das_policy.json').read_text()
    lines = [line for line in scalars(tmp_path) if 'loss' in line]
    assert [line['step'] for line in lines
            if 'das_loss' in line] == list(range(at + 1, 4))


def test_resume_honours_a_longer_search(one_command, tmp_path):
    # the weight schedule stays the checkpoint's (a changed one is refused)
    runner, records = train(
        resume_cfg(
            tmp_path,
            one_command['work_dir'] / 'iter_2.pth',
            search_iters=4,
            max_iters=1,
            scheduler_end=3))
    assert [r['phase'] for r in records] == ['search', 'search', 'train']
    assert runner.iter == runner.train_loop.max_iters == 5
    assert runner.train_loop.alpha_steps == 4
    log = log_text(tmp_path)
    assert ('search_iters changed from 3 to 4: honoured, the search ends at '
            'iteration 4') in log
    assert 'max_iters changed from 3 to 1: honoured, the run ends at ' \
           'iteration 5' in log
    assert 'search done at iteration 4 (4 α steps)' in log


@pytest.mark.parametrize(
    'at, loop, message',
    [(5, dict(search_iters=3, max_iters=1, scheduler_end=3),
      r'max_iters was 3 when the checkpoint was written and is 1 now; the '
      r"run would end at iteration 4, before the checkpoint's iteration 5"),
     (2, dict(SEARCH, split_seed=1),
      r'split_seed was 0 when the checkpoint was written and is 1 now')],
    ids=['max_iters_below_checkpoint', 'split_during_search'])
def test_resume_refuses_what_it_cannot_follow(one_command, tmp_path, at, loop,
                                              message):
    runner = Runner.from_cfg(
        resume_cfg(
            tmp_path,
            one_command['work_dir'] / f'iter_{at}.pth',
            num_workers=0,
            **loop))
    with pytest.raises(ValueError, match=message):
        runner.train()


def without(key):

    def tamper(checkpoint):
        del checkpoint['message_hub']['runtime_info'][key]

    return tamper


def no_initial_state_file(checkpoint):
    info = checkpoint['message_hub']['runtime_info']
    info['das_loop']['initial_state_file'] = '/nonexistent/state.pth'


def no_cell_state(checkpoint):
    del checkpoint['state_dict']['clip_cell._extra_state']


@pytest.mark.parametrize(
    'at, tamper, message',
    [(2, without('das_loop'), r'without DAS loop state'),
     (2, no_initial_state_file,
      r'this retrain=True search holds no initial state to retrain from '
      r'after the search: das_initial_state.pth, .* is at none of '
      r"\['/nonexistent/state.pth', '.*/work/das_initial_state.pth'\]"),
     (4, no_cell_state,
      r'the search ended at iteration 3, but the clip cell of the checkpoint '
      r'holds no policy')],
    ids=['loop_state', 'initial_state', 'policy'])
def test_resume_needs_the_checkpoint_state(one_command, tmp_path, at, tamper,
                                           message):
    checkpoint = _load_checkpoint(
        str(one_command['work_dir'] / f'iter_{at}.pth'))
    tamper(checkpoint)
    torch.save(checkpoint, tmp_path / 'tampered.pth')
    runner = Runner.from_cfg(
        resume_cfg(
            tmp_path / 'work',
            tmp_path / 'tampered.pth',
            num_workers=0,
            **SEARCH))
    with pytest.raises(ValueError, match=message):
        runner.train()


def test_resume_reads_the_initial_state_an_earlier_version_kept_in_the_hub(
        one_command, tmp_path):
    # checkpoints written before the state had a file kept it in the hub
    work_dir = one_command['work_dir']
    checkpoint = _load_checkpoint(str(work_dir / 'iter_2.pth'))
    info = checkpoint['message_hub']['runtime_info']
    info['das_initial_state'] = _load_checkpoint(
        str(work_dir / 'das_initial_state.pth'))
    del info['das_loop']['initial_state_file']
    torch.save(checkpoint, tmp_path / 'old.pth')
    runner, _ = train(
        resume_cfg(tmp_path / 'work', tmp_path / 'old.pth', **SEARCH))
    assert runner.iter == 6
    assert_same_state(one_command['state'], state_of(runner))
    # it got its file, and the hub no longer carries it
    assert (tmp_path / 'work' / 'das_initial_state.pth').exists()
    assert 'das_initial_state' not in runner.message_hub.runtime_info


# --- the two-stage route ---------------------------------------------------


def test_search_then_train_from_the_file_equals_one_command(
        one_command, tmp_path):
    searched, _ = train(
        search_cfg(
            tmp_path / 'search', num_workers=1, mode='search', **SEARCH))
    assert searched.iter == 3 and searched.train_loop.phase == 'train'
    policy_file = tmp_path / 'search' / 'das_policy.json'
    assert policy_file.read_text() == (one_command['work_dir'] /
                                       'das_policy.json').read_text()

    trained, records = train(
        search_cfg(
            tmp_path / 'train',
            num_workers=1,
            mode='train',
            policy_file=str(policy_file),
            max_iters=3))
    assert trained.iter == 3 and [r['phase'] for r in records] == ['train'] * 3
    assert len(trained.train_dataloader.dataset) == 48
    # the same final weights as the one-command run (the clip cell's α is
    # not trained by mode 'train')
    assert_same_state(
        one_command['state'], state_of(trained), skip='clip_cell.alpha')
    assert model_of(trained).clip_cell.policy == Policy.load(str(policy_file))


# --- the warm start ----------------------------------------------------------


def test_warm_start_goes_on_from_the_searched_weights(tmp_path):
    cfg = search_cfg(
        tmp_path,
        retrain=False,
        search_iters=3,
        max_iters=5,
        policy_interval=2)
    cfg.model.clip_cell.learn_magnitudes = True
    runner, records = train(cfg)
    assert runner.iter == runner.train_loop.max_iters == 5
    assert [r['phase'] for r in records] == ['search'] * 3 + ['train'] * 2
    # α steps at iterations 0 and 2 only
    assert [not torch.equal(r['alpha'], r['alpha_after'])
            for r in records] == [True, False, True, False, False]
    assert not all(
        torch.equal(a, b)
        for a, b in zip(records[0]['weights'], records[3]['weights']))
    assert records[3]['momentum'] and records[3]['lr'] < records[2]['lr']
    train_set = runner.train_dataloader.dataset
    assert isinstance(train_set, DatasetSplit) and train_set.part == 'weight'
    lines = scalars(tmp_path)
    losses = [line for line in lines if 'loss' in line]
    assert [line['step'] for line in losses if 'das_loss' in line] == [1, 3]
    # the learned magnitudes are logged and drawn
    moved = [
        line['das/magnitude/edge0/shift_x'] for line in lines
        if 'das/magnitude/edge0/shift_x' in line
    ]
    assert len(moved) == 3 and moved[0] != moved[-1]
    assert cv2.imread(str(tmp_path / 'das_alpha.png')) is not None


# --- the epoch-based loop ----------------------------------------------------

EPOCHS = dict(
    loop='DASEpochBasedTrainLoop',
    train_images=8,
    num_workers=1,
    search_epochs=2,
    max_epochs=1)


def test_epoch_loop_searches_retrains_and_resumes(tmp_path):
    whole, records = train(
        search_cfg(tmp_path / 'whole', checkpoint_interval=1, **EPOCHS))
    loop = whole.train_loop
    # 2 search epochs of the 4-image weight part, 1 epoch of all 8 images
    assert [(r['epoch'], r['phase']) for r in records
            ] == [(0, 'search')] * 2 + [(1, 'search')] * 2 + [(2, 'train')] * 4
    assert whole.epoch == loop.max_epochs == 3
    assert whole.iter == loop.max_iters == 8
    assert all(
        torch.equal(a, b)
        for a, b in zip(records[0]['weights'], records[4]['weights']))
    assert records[4]['momentum'] == 0
    assert (tmp_path / 'whole' / 'das_policy.json').exists()

    resumed, records = train(
        dict(
            search_cfg(tmp_path / 'resumed', **EPOCHS),
            load_from=str(tmp_path / 'whole' / 'epoch_1.pth'),
            resume=True))
    assert [r['iter'] for r in records] == list(range(2, 8))
    assert_same_state(state_of(whole), state_of(resumed))
    assert (tmp_path / 'resumed' /
            'das_policy.json').read_text() == (tmp_path / 'whole' /
                                               'das_policy.json').read_text()


def test_unrolled_search_logs_its_implicit_term(tmp_path):
    """train_cfg.unrolled: DARTS' second-order α step on the iteration's
    weight batch; the implicit term's size is logged at every α step."""
    runner, records = train(
        search_cfg(tmp_path, search_iters=2, max_iters=1, unrolled=True))
    assert runner.train_loop.unrolled == {}
    assert all(not torch.equal(r['alpha'], r['alpha_after'])
               for r in records[:2])
    lines = [line for line in scalars(tmp_path) if 'loss' in line]
    ratios = [line.get('das_implicit_ratio') for line in lines]
    assert ratios[2] is None and all(r > 0 for r in ratios[:2])
    data = json.loads((tmp_path / 'das_alpha.json').read_text())
    assert [d['implicit_ratio'] for d in data['diagnostics']] == (
        pytest.approx(ratios[:2]))


# --- guards ------------------------------------------------------------------


@pytest.fixture(scope='module')
def built(one_command, tmp_path_factory):
    """A Runner that loads the one-command run's final checkpoint: the
    argument checks build loops against it, and it validates."""
    cfg = search_cfg(tmp_path_factory.mktemp('built'), val=True, **SEARCH)
    cfg.load_from = str(one_command['work_dir'] / 'iter_6.pth')
    return Runner.from_cfg(cfg), cfg


def test_a_val_runner_evaluates_the_trained_clip_model(one_command, built):
    """The checkpoint alone (its cell's state) renders the derived policy,
    and DASPolicyHook stays out of a validation run."""
    runner, cfg = built
    init_default_scope('mmseg')  # each test starts without one
    metrics = runner.val()
    assert metrics['mIoU'] == scalars(one_command['work_dir'])[-1]['mIoU']
    assert model_of(runner).clip_cell.policy == model_of(
        one_command['runner']).clip_cell.policy
    assert not osp.exists(osp.join(runner.work_dir, 'das_policy.json'))


@pytest.mark.parametrize(
    'loop, error, message',
    [(dict(mode='searching'), ValueError,
      r"train_cfg.mode must be one of .*got 'searching'"),
     (dict(search_iters=None), ValueError,
      r'search_iters must be an integer >= 1 in mode .*got None'),
     (dict(max_iters=0), ValueError,
      r'train_cfg.max_iters must be an integer >= 1, but got 0'),
     (dict(policy_interval=0), ValueError,
      r'policy_interval must be an integer >= 1 .*got 0'),
     (dict(retrain=1), ValueError, r'retrain must be True or False'),
     (dict(policy_portion=1.0), ValueError,
      r'train_cfg.policy_portion must be in \(0, 1\), but got 1.0'),
     (dict(policy_dataloader=4), ValueError,
      r'policy_dataloader must be a dict'),
     (dict(policy_file='p.json'), ValueError,
      r'policy_file is only read in mode "train"'),
     (dict(unrolled='yes'), ValueError,
      r'train_cfg.unrolled must be True, False or dict'),
     (dict(unrolled=dict(xi=-1)), ValueError,
      r'train_cfg.unrolled: Unrolled: xi must be a number >= 0'),
     (dict(unrolled=dict(lr=0.1)), ValueError,
      r"train_cfg.unrolled takes xi and eps, got \['lr'\]"),
     (dict(retrain=False, search_iters=4), ValueError,
      r'with train_cfg.retrain=False, train_cfg.max_iters=3 counts the search '
      r'too, but the search alone lasts train_cfg.search_iters=4'),
     (dict(policy_interva=2), TypeError,
      r"DASIterBasedTrainLoop: train_cfg has no setting \['policy_interva'\]; "
      r"its settings are max_iters, search_iters, .*'policy_interval'"),
     (dict(policy_portion=0.03), ValueError,
      r'the policy part holds 1 samples, fewer than one batch \(batch_size '
      r'2 x 1 ranks\)')])
def test_loop_arguments_are_checked(built, loop, error, message):
    runner, cfg = built
    settings = dict(max_iters=3, search_iters=3)
    settings.update(loop)
    if settings['search_iters'] is None:
        del settings['search_iters']
    init_default_scope('mmseg')  # each test starts without one
    with pytest.raises(error, match=message):
        DASIterBasedTrainLoop(runner, cfg.train_dataloader, **settings)


def test_loop_splits_a_dataloader_config_only(built):
    runner, cfg = built
    init_default_scope('mmseg')
    loader = runner.build_dataloader(cfg.train_dataloader)
    with pytest.raises(
            TypeError,
            match=(r'builds the weight and policy parts of the training set '
                   r'itself: train_dataloader must be a config dict, but got '
                   r'a DataLoader')):
        DASIterBasedTrainLoop(runner, loader, max_iters=3, search_iters=3)


class Hack(Hook):
    """Sets α requires_grad before the loop starts, as a custom cell might."""

    def before_train(self, runner):
        model_of(runner).clip_cell.alpha.requires_grad_(True)


def default_end(cfg):
    cfg.param_scheduler.model[0].pop('end')
    return cfg


def plain_loop(cfg):
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3)
    return cfg


@pytest.mark.parametrize(
    'change, hooks, error, message',
    [(default_end, (), ValueError,
      r'param_scheduler.model\[0\] \(PolyLR\) ends after 6 iterations, search '
      r'and training together .* lasts the training phase, 3 iterations'),
     (plain_loop, (), TypeError,
      r'DASPolicyHook watches a DAS search, but the train loop is '
      r'IterBasedTrainLoop'),
     (lambda cfg: cfg, (Hack(), ), RuntimeError,
      r"the clip cell's architecture parameters require grad outside its "
      r'arch_grad\(\) context')],
    ids=['default_end', 'plain_loop', 'alpha_requires_grad'])
def test_run_guards(tmp_path, change, hooks, error, message):
    runner = Runner.from_cfg(change(search_cfg(tmp_path, **SEARCH)))
    for hook in hooks:
        runner.register_hook(hook)
    with pytest.raises(error, match=message):
        runner.train()


def test_train_mode_checks_the_policy_file(tmp_path):
    other = Policy(
        ops=('identity', 'shift_x'),
        nodes=(((0, 'shift_x', 0.05), ), ((2, 'identity', None), )),
        num_frames=2)
    other.save(str(tmp_path / 'other.json'))
    runner = Runner.from_cfg(
        search_cfg(
            tmp_path / 'work',
            mode='train',
            policy_file=str(tmp_path / 'other.json')))
    with pytest.raises(
            PolicyError,
            match=(r'the policy of train_cfg.policy_file=.*other\.json.* does '
                   r'not fit the model\'s clip cell')):
        runner.train()
    runner = Runner.from_cfg(search_cfg(tmp_path / 'none', mode='train'))
    with pytest.raises(ValueError, match=r'mode "train" needs a policy'):
        runner.train()
