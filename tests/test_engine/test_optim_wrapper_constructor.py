"""``DASOptimWrapperConstructor``: one optimizer wrapper for the weights and
one for the policy (α, and the learned magnitudes in a group of their own),
paramwise options kept off the clip cell, clear errors; and
``split_optim_wrappers``, how the DAS loops take them."""
import copy

import pytest
import torch
from fixtures import das_optim_wrapper, search_model
from mmengine.optim import OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, init_default_scope
from mmseg.registry import MODELS

import das_mmseg  # noqa: F401
from das_mmseg.engine import DASOptimWrapperConstructor
from das_mmseg.engine.optimizers import split_optim_wrappers

# tiny tensors: see conftest.one_thread
pytestmark = pytest.mark.usefixtures('one_thread')


def group_ids(wrapper):
    return [{id(p)
             for p in group['params']}
            for group in wrapper.optimizer.param_groups]


def test_constructor_splits_weights_and_policy(cfg):
    model = search_model(cfg)
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
    model = search_model(cfg, learn_magnitudes=True)
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
    model = search_model(cfg)
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
    model = search_model(cfg)
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
    model = search_model(cfg)
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
