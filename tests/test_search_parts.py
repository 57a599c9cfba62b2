"""The parts of the DAS search without a Runner: the dataset split, the
optimizer-wrapper constructor, the α step, the resume checks, the pictures,
and the old hook's error."""
import copy
import re

import cv2
import numpy as np
import pytest
import torch
from fixtures import SAMPLE, search_cfg
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import (DATASETS, HOOKS, OPTIM_WRAPPER_CONSTRUCTORS,
                               init_default_scope)
from mmseg.registry import MODELS

import das_mmseg  # noqa: F401
from das_mmseg.augment import PixelSpace
from das_mmseg.datasets import DatasetSplit, split_indices
from das_mmseg.engine import (DASOptimWrapperConstructor, arch_step,
                              search_diagnostics)
from das_mmseg.engine.hooks import DASPolicyHook, DASSearchHook
from das_mmseg.engine.optimizers import split_optim_wrappers
from das_mmseg.engine.runner import check_resume
from das_mmseg.visualization import (clip_to_rgb, draw_alpha_history,
                                     draw_clip, encode_png)

# tiny tensors: see conftest.one_thread
pytestmark = pytest.mark.usefixtures('one_thread')

CAMVID = dict(
    type='CamVidDataset',
    data_root=SAMPLE,
    data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
    serialize_data=False,
    pipeline=[])

# --- the split -------------------------------------------------------------


def test_split_indices_are_seeded_disjoint_and_complete():
    weight, policy = split_indices(48, 0.5, seed=0)
    assert (weight, policy) == split_indices(48, 0.5, seed=0)
    assert split_indices(48, 0.5, seed=1) != (weight, policy)
    assert len(policy) == 24 and sorted(weight + policy) == list(range(48))
    assert len(split_indices(48, 0.25, seed=0)[1]) == 12
    # independent of the global random state
    torch.manual_seed(123)
    assert split_indices(48, 0.5, seed=0) == (weight, policy)
    with pytest.raises(
            ValueError, match=r'policy_portion must be in \(0, 1\).*1\.5'):
        split_indices(48, 1.5)
    with pytest.raises(ValueError, match=r'leaves 0 policy and 3 weight'):
        split_indices(3, 0.1)


def test_dataset_split_is_a_registered_wrapper_usable_from_a_config():
    init_default_scope('mmseg')
    parts = {
        part:
        DATASETS.build(dict(type='DatasetSplit', dataset=CAMVID, part=part))
        for part in ('weight', 'policy')
    }
    weight, policy = split_indices(48, 0.5, seed=0)
    assert parts['weight'].indices == weight
    assert parts['policy'].indices == policy
    paths = {
        part: {split.get_data_info(i)['img_path']
               for i in range(len(split))}
        for part, split in parts.items()
    }
    assert len(paths['weight']) == len(paths['policy']) == 24
    assert not paths['weight'] & paths['policy']
    assert parts['policy'][3]['img_path'] == parts[
        'policy'].dataset.get_data_info(policy[3])['img_path']
    assert parts['weight'].metainfo['classes'][0] == 'sky'

    lazy = DatasetSplit(
        CAMVID | dict(lazy_init=True),
        part='policy',
        seed=3,
        policy_portion=0.25,
        lazy_init=True)
    assert lazy.indices == [] and len(lazy) == 12
    assert lazy.indices == split_indices(48, 0.25, seed=3)[1]


def test_dataset_split_guards():
    with pytest.raises(ValueError, match=r"part must be one of .*'both'"):
        DatasetSplit(CAMVID, part='both')
    with pytest.raises(ValueError, match=r'policy_portion must be .*got 1'):
        DatasetSplit(CAMVID, policy_portion=1)
    init_default_scope('mmseg')
    with pytest.raises(TypeError, match=r'cannot split a RepeatDataset'):
        DatasetSplit(dict(type='RepeatDataset', times=2, dataset=CAMVID))


# --- a model, its optimizers and batches ------------------------------------


@pytest.fixture(scope='module')
def cfg():
    return search_cfg('unused')


def build_model(cfg, **cell):
    model = copy.deepcopy(cfg.model)
    model.clip_cell.update(cell)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(model).train()


@pytest.fixture(scope='module')
def batches(cfg):
    """Two batches of two real training crops."""
    init_default_scope('mmseg')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    np.random.seed(0)
    return [
        pseudo_collate([dataset[i] for i in pair]) for pair in ((0, 1), (2, 3))
    ]


def das_optim_wrapper(model, **cfg):
    return build_optim_wrapper(
        model,
        dict(
            dict(
                constructor='DASOptimWrapperConstructor',
                optimizer=dict(type='SGD', lr=0.01, momentum=0.9)), **cfg))


def group_ids(wrapper):
    return [{id(p)
             for p in group['params']}
            for group in wrapper.optimizer.param_groups]


def test_constructor_splits_weights_and_policy(cfg):
    model = build_model(cfg)
    cell = model.clip_cell
    wrapper = das_optim_wrapper(model, clip_grad=dict(max_norm=5.0))
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(
        'DASOptimWrapperConstructor') is DASOptimWrapperConstructor
    assert isinstance(wrapper, OptimWrapperDict)
    assert sorted(wrapper.keys()) == ['model', 'policy']
    weights = set().union(*group_ids(wrapper['model']))
    cell_params = {id(p) for p in cell.parameters()}
    assert weights == {id(p) for p in model.parameters()} - cell_params
    assert wrapper['model'].clip_grad_kwargs == dict(max_norm=5.0)
    # fixed magnitudes: α alone, with the paper's Adam
    assert group_ids(wrapper['policy']) == [{id(cell.alpha)}]
    policy = wrapper['policy'].optimizer
    assert type(policy).__name__ == 'Adam'
    assert policy.defaults['lr'] == 3e-4
    assert policy.defaults['betas'] == (0.5, 0.999)
    assert policy.defaults['weight_decay'] == 1e-3


def test_constructor_gives_learned_magnitudes_their_group(cfg):
    model = build_model(cfg, learn_magnitudes=True)
    cell = model.clip_cell
    wrapper = das_optim_wrapper(
        model,
        policy=dict(optimizer=dict(type='Adam', lr=0.01, weight_decay=0.1)),
        magnitude_lr=0.5)
    groups = wrapper['policy'].optimizer.param_groups
    assert group_ids(wrapper['policy']) == [{id(cell.alpha)},
                                            {id(cell.magnitude_logit)}]
    assert (groups[0]['lr'], groups[0]['weight_decay']) == (0.01, 0.1)
    assert (groups[1]['lr'], groups[1]['weight_decay']) == (0.5, 0.0)
    default = das_optim_wrapper(
        model, policy=dict(optimizer=dict(type='Adam', lr=0.01)))
    assert default['policy'].optimizer.param_groups[1]['lr'] == 0.01


def test_constructor_keeps_paramwise_options_off_the_cell(cfg):
    model = build_model(cfg)
    wrapper = das_optim_wrapper(
        model, paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
    groups = wrapper['model'].optimizer.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    grouped = {names[id(p)]: g['lr'] for g in groups for p in g['params']}
    assert not any(n.startswith('clip_cell') for n in grouped)
    assert set(grouped) == {
        n
        for n in names.values() if not n.startswith('clip_cell')
    }
    assert grouped['backbone.stem.0.weight'] == pytest.approx(0.001)
    assert grouped['decode_head.conv_seg.weight'] == 0.01


def test_constructor_guards(cfg):
    init_default_scope('mmseg')
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('clip_cell')
    plain = MODELS.build(dict(model_cfg, type='EncoderDecoder'))
    with pytest.raises(
            TypeError,
            match=(r'DASOptimWrapperConstructor needs a model with a clip '
                   r'cell.*EncoderDecoder has clip_cell=None')):
        das_optim_wrapper(plain)
    model = build_model(cfg)
    with pytest.raises(ValueError, match=r'policy must be an optimizer'):
        das_optim_wrapper(model, policy=dict(type='OptimWrapper'))
    with pytest.raises(ValueError, match=r"does not take \['paramwise_cfg'"):
        das_optim_wrapper(
            model,
            policy=dict(optimizer=dict(type='Adam', lr=0.1), paramwise_cfg={}))
    with pytest.raises(ValueError, match=r'magnitude_lr must be > 0.*got 0'):
        das_optim_wrapper(model, magnitude_lr=0)
    model.clip_cell.extra = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(
            TypeError,
            match=(r'clip cell has parameters outside arch_parameters\(\), '
                   r"which neither optimizer would train: \['clip_cell.extra'"
                   r'\]')):
        das_optim_wrapper(model)


def test_the_loop_takes_the_constructor_wrappers(cfg):
    model = build_model(cfg)
    wrappers = das_optim_wrapper(model)
    schedulers = dict(model=['poly'], policy=[])
    dict_cfg = dict(model=[dict(type='PolyLR')], policy=[])
    assert split_optim_wrappers(wrappers, schedulers, dict_cfg, 'search',
                                'Loop') == (wrappers['model'],
                                            wrappers['policy'], ['poly'])
    with pytest.raises(
            TypeError,
            match=(r'Loop: param_scheduler must give the schedulers of each '
                   r'optimizer, dict\(model=\[...\], policy=\[...\]\)')):
        split_optim_wrappers(wrappers, schedulers, [dict(type='PolyLR')],
                             'search', 'Loop')
    other = OptimWrapperDict(weights=wrappers['model'])
    with pytest.raises(
            TypeError,
            match=(r'Loop needs optim_wrapper\["model"\] and '
                   r"optim_wrapper\[\"policy\"\], but got \['weights'\]")):
        split_optim_wrappers(other, None, None, 'search', 'Loop')
    with pytest.raises(
            TypeError,
            match=(r"Loop in mode 'search' needs an optimizer for the weights "
                   r'and one for the policy.*got OptimWrapper')):
        split_optim_wrappers(wrappers['model'], ['poly'], None, 'search',
                             'Loop')
    # a fixed policy trains with one wrapper
    assert split_optim_wrappers(wrappers['model'], ['poly'], None, 'train',
                                'Loop') == (wrappers['model'], None, ['poly'])


# --- the α step -------------------------------------------------------------


def test_arch_step_changes_alpha_and_nothing_else(cfg, batches):
    model = build_model(cfg, learn_magnitudes=True)
    cell = model.clip_cell
    wrapper = das_optim_wrapper(
        model, policy=dict(optimizer=dict(type='Adam', lr=0.01)))
    arch = {id(p) for p in cell.arch_parameters()}
    weights = {
        n: p.detach().clone()
        for n, p in model.named_parameters() if id(p) not in arch
    }
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    before = [p.detach().clone() for p in cell.arch_parameters()]

    loss = arch_step(model, wrapper['policy'], batches[0], iteration=0)

    assert np.isfinite(loss) and loss > 0
    after = list(cell.arch_parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after))
    named = dict(model.named_parameters())
    assert all(torch.equal(v, named[n]) for n, v in weights.items())
    # BN running statistics and counters are restored
    assert all(
        torch.equal(v, b)
        for (n, v), b in zip(buffers.items(),
                             dict(model.named_buffers()).values()))
    assert all(p.grad is None for p in model.parameters())
    assert not any(p.requires_grad for p in after)
    assert len(wrapper['policy'].optimizer.state) == 2
    assert not wrapper['model'].optimizer.state


def test_search_diagnostics_by_hand():
    ops = ('identity', 'shift_x', 'zoom')
    uniform = torch.full((2, 3), 1 / 3)
    # mean_k g - g_identity per edge: (0 - 2) and (1 - 0); mean -0.5; the
    # mean |g| is 7 / 6
    grad = torch.tensor([[2.0, -1.0, -1.0], [0.0, 1.0, 2.0]])
    out = search_diagnostics(uniform, grad, ops)
    assert out['alpha_entropy'] == pytest.approx(1.0)
    assert out['identity_pull'] == pytest.approx(-0.5 / (7 / 6))
    assert search_diagnostics(uniform, 1000 * grad, ops)['identity_pull'] == (
        pytest.approx(out['identity_pull']))
    one_op = torch.tensor([[1.0, 0, 0], [0.5, 0.5, 0]])
    # entropies 0 and log 2, over log 3
    assert search_diagnostics(one_op, grad, ops)['alpha_entropy'] == (
        pytest.approx(0.5 * np.log(2) / np.log(3)))
    assert 'identity_pull' not in search_diagnostics(uniform, grad,
                                                     ('a', 'b', 'c'))


def test_identity_pull_is_what_an_sgd_step_does_to_the_identity(cfg, batches):
    """With plain SGD the step moves α by -lr·g: the identity's α rises
    above the mean op's by lr · identity_pull (averaged over edges), and
    asking for the diagnostics changes nothing in the step."""
    lr = 0.1
    alphas, pulls = [], []
    for ask in (True, False):
        torch.manual_seed(0)
        model = build_model(cfg)
        cell = model.clip_cell
        wrapper = das_optim_wrapper(
            model, policy=dict(optimizer=dict(type='SGD', lr=lr)))
        before = cell.alpha.detach().clone()
        weights = cell.op_weights().detach()
        diagnostics = {} if ask else None
        arch_step(model, wrapper['policy'], batches[0], 0, diagnostics)
        alphas.append(cell.alpha.detach().clone())
        if ask:
            pulls.append(diagnostics)
    assert torch.equal(alphas[0], alphas[1])
    step = alphas[0] - before
    k = cell.op_names.index('identity')
    rise = (step[:, k] - step.mean(-1)).mean()
    # in units of the mean |g| = mean |step| / lr
    assert float(rise) == pytest.approx(
        pulls[0]['identity_pull'] * float(step.abs().mean()),
        rel=1e-3,
        abs=1e-12)
    assert pulls[0]['alpha_entropy'] == pytest.approx(
        search_diagnostics(weights, torch.zeros_like(step),
                           cell.op_names)['alpha_entropy'])


def test_arch_step_refuses_non_finite_values(cfg, batches):
    model = build_model(cfg)
    alpha = model.clip_cell.alpha
    initial = alpha.detach().clone()
    wrapper = das_optim_wrapper(model)

    with torch.no_grad():
        alpha[0, 0] = float('nan')
    with pytest.raises(
            FloatingPointError, match=r'search loss is nan at iteration 7'):
        arch_step(model, wrapper['policy'], batches[0], iteration=7)

    with torch.no_grad():
        alpha.copy_(initial)
    with model.clip_cell.arch_grad():  # hooks need requires_grad
        handle = alpha.register_hook(lambda grad: grad * float('inf'))
    with pytest.raises(
            FloatingPointError,
            match=(r'gradient of clip_cell\.alpha holds -?(inf|nan) at '
                   r'iteration 8')):
        arch_step(model, wrapper['policy'], batches[0], iteration=8)
    handle.remove()

    wrapper = das_optim_wrapper(
        model, policy=dict(optimizer=dict(type='SGD', lr=float('inf'))))
    with pytest.raises(
            FloatingPointError,
            match=(r'clip_cell\.alpha holds -?(inf|nan) after the step at '
                   r'iteration 9 .*lower the policy learning rate')):
        arch_step(model, wrapper['policy'], batches[1], iteration=9)


# --- resume checks ----------------------------------------------------------

SAVED = dict(
    version=1,
    loop='DASIterBasedTrainLoop',
    mode='search_and_train',
    search_length=4,
    max_length=6,
    total=10,
    policy_interval=1,
    retrain=True,
    policy_portion=0.5,
    split_seed=0,
    policy_dataloader=None,
    param_scheduler=dict(model=[dict(type='PolyLR', end=6)], policy=[]),
    policy=None,
    phase='search',
    alpha_steps=2,
    switch_point=None)
AFTER_SWITCH = dict(SAVED, phase='train', switch_point=4, alpha_steps=4)


def changed(state, **changes):
    new = copy.deepcopy(state)
    new.update(changes)
    if 'search_length' in changes or 'max_length' in changes:
        new['total'] = (
            new['search_length'] +
            new['max_length'] if new['retrain'] else new['max_length'])
    return new


@pytest.mark.parametrize(
    'saved, current, position, note',
    [
        (SAVED, SAVED, 2, None),
        (SAVED, changed(SAVED, search_length=8), 2,
         r'search_iters changed from 4 to 8: honoured, the search ends at '
         r'iteration 8'),
        # the search ends at once
        (SAVED, changed(SAVED, search_length=3), 3, r'from 4 to 3: honoured'),
        (SAVED, changed(SAVED, policy_interval=2), 2,
         r'policy_interval changed from 1 to 2: honoured from iteration 2'),
        (AFTER_SWITCH, changed(AFTER_SWITCH, policy_interval=2), 5,
         r'no effect, the search is over'),
        (SAVED, changed(SAVED, max_length=2), 3,
         r'max_iters changed from 6 to 2: honoured, the run ends at '
         r'iteration 6'),
        (AFTER_SWITCH, changed(AFTER_SWITCH, split_seed=1), 5,
         r'split_seed changed from 0 to 1: no effect'),
        (SAVED, changed(SAVED, retrain=False, total=6), 2,
         r'retrain changed from True to False: honoured'),
        (SAVED, changed(SAVED, mode='search', total=4), 2,
         r"mode changed from 'search_and_train' to 'search': honoured"),
    ])
def test_resume_honours_what_the_run_can_follow(saved, current, position,
                                                note):
    notes = check_resume(saved, current, position, 'iters')
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and re.search(note, notes[0]), notes


@pytest.mark.parametrize('saved, current, position, message', [
    (SAVED, changed(SAVED, search_length=2), 3,
     r'search_iters was 4 .* is 2 now; the search has already run to '
     r'iteration 3; set search_iters >= 3'),
    (AFTER_SWITCH, changed(AFTER_SWITCH, search_length=5), 5,
     r'search_iters was 4 .* is 5 now; the search ended at iteration 4'),
    (AFTER_SWITCH, changed(AFTER_SWITCH, max_length=1), 6,
     r'max_iters was 6 .* is 1 now; the run would end at iteration 5, '
     r"before the checkpoint's iteration 6"),
    (SAVED, changed(SAVED, split_seed=1), 2,
     r'split_seed was 0 .* is 1 now; the split .* cannot change'),
    (SAVED, changed(SAVED, policy_portion=0.25), 2,
     r'policy_portion was 0.5 .* is 0.25 now'),
    (SAVED, changed(SAVED, policy_dataloader=dict(batch_size=1)), 2,
     r"policy_dataloader was None .* is \{'batch_size': 1\} now"),
    (changed(AFTER_SWITCH, retrain=False),
     changed(AFTER_SWITCH, retrain=False,
             split_seed=2), 5, r'split_seed was 0 .* is 2 now'),
    (changed(SAVED, retrain=False), SAVED, 2,
     r'retrain was False .* is True now; the checkpoint holds no '
     r'initial weights'),
    (AFTER_SWITCH, changed(AFTER_SWITCH, retrain=False), 5,
     r'retrain was True .* is False now; the search is over'),
    (SAVED, changed(SAVED, mode='train'), 2,
     r"mode was 'search_and_train' .* is 'train' now"),
    (AFTER_SWITCH, changed(AFTER_SWITCH,
                           mode='search'), 5, r'nothing is left to search'),
    (SAVED, changed(SAVED, param_scheduler=dict(
        model=[], policy=[])), 2, r'param_scheduler was .* silently ignored'),
    (SAVED, changed(SAVED, loop='DASEpochBasedTrainLoop'), 2,
     r"train_cfg.type was 'DASIterBasedTrainLoop'"),
    (changed(SAVED, version=0), SAVED, 2, r'state version 0'),
    (changed(AFTER_SWITCH, mode='train', policy=dict(a=1)),
     changed(AFTER_SWITCH, mode='train',
             policy=dict(a=2)), 5, r'the policy of train_cfg.policy_file was'),
])
def test_resume_refuses_what_it_cannot_follow(saved, current, position,
                                              message):
    with pytest.raises(ValueError, match=message):
        check_resume(saved, current, position, 'iters')


def test_resume_messages_count_epochs_for_the_epoch_loop():
    with pytest.raises(
            ValueError, match=r'search_epochs was 4 .* set search_epochs'):
        check_resume(SAVED, changed(SAVED, search_length=1), 2, 'epochs')


# --- pictures ---------------------------------------------------------------


def test_clip_to_rgb_undoes_the_normalisation():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (3, 5, 6, 3), dtype=np.uint8)  # RGB
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    rgb = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    normalised = (rgb - torch.tensor(mean).view(
        1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert np.array_equal(
        clip_to_rgb(normalised, PixelSpace(mean, std, channel_order='rgb')),
        pixels)
    bgr = rgb.flip(1)
    assert np.array_equal(
        clip_to_rgb(bgr, PixelSpace(channel_order='bgr')), pixels)
    grey = clip_to_rgb(rgb[:, :1], PixelSpace())
    assert grey.shape == (3, 5, 6, 3) and np.array_equal(
        grey[..., 2], pixels[..., 0])
    # out-of-range values (zoomed-out padding, ops) are clamped
    assert clip_to_rgb(rgb * 4 - 300, PixelSpace()).min() == 0
    with pytest.raises(ValueError, match=r'\(T, C, H, W\).*\(3, 5, 6\)'):
        clip_to_rgb(rgb[0], PixelSpace())


def test_draw_clip_frames_the_reference_frame():
    frames = np.random.default_rng(0).integers(
        1, 255, (3, 8, 10, 3), dtype=np.uint8)
    montage = draw_clip(frames, ref_frame=1, border=2)
    assert montage.shape == (12, 3 * 14, 3)
    tiles = np.split(montage, 3, axis=1)
    for t, tile in enumerate(tiles):
        assert np.array_equal(tile[2:-2, 2:-2], frames[t])
        assert (tile[0] == (255 if t == 1 else 0)).all()
    titled = draw_clip(frames, ref_frame=1, titles=['a', 'b\nc', 'd'])
    assert titled.dtype == np.uint8 and titled.shape[-1] == 3
    assert titled.std() > 0
    with pytest.raises(ValueError, match=r'2 titles for 3 frames'):
        draw_clip(frames, titles=['a', 'b'])
    with pytest.raises(ValueError, match=r'\(T, H, W, 3\) uint8.*float'):
        draw_clip(frames.astype(float))


def test_draw_alpha_history_and_learned_magnitudes():
    weights = np.random.default_rng(0).dirichlet(np.ones(3), size=(4, 2))
    ops = ['identity', 'shift_x', 'zoom']
    plain = draw_alpha_history([1, 2, 5, 10], weights, ops)
    assert plain.dtype == np.uint8 and plain.ndim == 3 and plain.std() > 0
    magnitudes = np.zeros_like(weights)
    magnitudes[:, :, 1] = np.linspace(0.0, 0.1, 8).reshape(4, 2)
    with_magnitudes = draw_alpha_history([1, 2, 5, 10], weights, ops,
                                         magnitudes)
    # one more row: the shift_x trajectories
    assert with_magnitudes.shape[0] > plain.shape[0]
    with pytest.raises(ValueError, match=r'K = 3 records and O = 3 ops'):
        draw_alpha_history([1, 2, 3], weights, ops)
    with pytest.raises(ValueError, match=r'magnitudes must have the shape'):
        draw_alpha_history([1, 2, 5, 10], weights, ops, magnitudes[:, :1])


def test_encode_png_round_trips():
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3), np.uint8)
    decoded = cv2.imdecode(
        np.frombuffer(encode_png(rgb), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded[..., ::-1], rgb)
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8 RGB .*float'):
        encode_png(rgb.astype(float))


def test_components_are_found_from_mmseg_and_mmpretrain_scopes():
    from mmpretrain import registry as mmpretrain
    from mmseg import registry as mmseg
    for registries in (mmseg, mmpretrain):
        assert registries.DATASETS.get('DatasetSplit') is DatasetSplit
        assert registries.HOOKS.get('DASPolicyHook') is DASPolicyHook
        assert registries.LOOPS.get('DASIterBasedTrainLoop').__name__ == (
            'DASIterBasedTrainLoop')
        assert registries.OPTIM_WRAPPER_CONSTRUCTORS.get(
            'DASOptimWrapperConstructor') is DASOptimWrapperConstructor


def test_policy_hook_arguments():
    with pytest.raises(ValueError, match=r'interval must be an integer >= 1'):
        DASPolicyHook(interval=0)
    assert HOOKS.get('DASPolicyHook') is DASPolicyHook


# --- the old hook -----------------------------------------------------------


def test_old_hook_names_the_new_keys():
    with pytest.raises(
            ValueError,
            match=(r'DASSearchHook was replaced by the DAS train loop.*'
                   r'search_iters -> train_cfg\.search_iters; interval -> '
                   r'train_cfg\.policy_interval')):
        DASSearchHook(search_iters=2, interval=1)
    with pytest.raises(ValueError, match=r'DASIterBasedTrainLoop'):
        HOOKS.build(dict(type='DASSearchHook'))
