"""The search settings are a base of their own: ``compose_search`` writes a
config's ``das_search`` into whatever schedule it lists, and
``DASSearchRunner`` (the search bases' ``runner_type``) does so before it
builds anything."""
import glob
import os.path as osp

import pytest
from fixtures import ROOT
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from das_mmseg.engine import DASSearchRunner, compose_search

SEARCH_BASES = sorted(glob.glob(osp.join(ROOT, 'configs/_base_/search/*.py')))
SCHEDULES = sorted(glob.glob(osp.join(
    ROOT, 'configs/_base_/schedules/*.py'))) + [
        'mmseg::_base_/schedules/schedule_20k.py',
        'mmpretrain::_base_/schedules/cifar10_bs128.py'
    ]
DEMO = osp.join(
    ROOT, 'configs/das/'
    'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py')


def leaf(tmp_path, *bases: str, text: str = '') -> Config:
    """A config listing ``bases`` (and ``text``), loaded as a tool loads
    one."""
    path = tmp_path / 'leaf.py'
    path.write_text(f'_base_ = {list(bases)!r}\n{text}')
    return Config.fromfile(str(path))


@pytest.mark.parametrize('search', SEARCH_BASES, ids=osp.basename)
@pytest.mark.parametrize('schedule', SCHEDULES, ids=osp.basename)
def test_every_search_base_goes_with_every_schedule(tmp_path, schedule,
                                                    search):
    """A search base and a schedule are chosen apart (no key in common),
    and composed the schedule keeps all it said and gains the search."""
    plain = leaf(tmp_path, schedule)
    cfg = leaf(tmp_path, schedule, search)
    assert cfg.runner_type == 'DASSearchRunner'
    composed = compose_search(cfg)
    assert 'das_search' not in composed and 'das_search' in cfg
    by_epoch = (
        plain.train_cfg.get('type') == 'EpochBasedTrainLoop'
        or plain.train_cfg.get('by_epoch', False))
    assert composed.train_cfg.type == ('DASEpochBasedTrainLoop' if by_epoch
                                       else 'DASIterBasedTrainLoop')
    loop_keys = {
        k: v
        for k, v in cfg.das_search.items()
        if not k.startswith(('policy_optim', 'policy_param', 'magnitude'))
    }
    kept = {
        k: v
        for k, v in plain.train_cfg.items() if k not in ('type', 'by_epoch')
    }
    assert composed.train_cfg == dict(
        kept, type=composed.train_cfg.type, **loop_keys)
    assert composed.optim_wrapper == dict(
        plain.optim_wrapper,
        constructor='DASOptimWrapperConstructor',
        policy=cfg.das_search.policy_optim_wrapper,
        magnitude_lr=None)
    assert composed.param_scheduler == dict(
        model=plain.param_scheduler, policy=[])
    assert composed.custom_hooks == [dict(type='DASPolicyHook')]


def test_the_second_order_base_differs_by_the_unrolled_step(tmp_path):
    first, second = (
        compose_search(
            leaf(tmp_path, 'mmseg::_base_/schedules/schedule_20k.py',
                 osp.join(ROOT,
                          f'configs/_base_/search/das_{order}_order.py')))
        for order in ('first', 'second'))
    assert second.train_cfg.pop('unrolled') is True
    assert 'unrolled' not in first.train_cfg
    assert first.to_dict() == second.to_dict()


def test_a_config_without_das_search_is_built_as_given():
    cfg = Config(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=2)))
    assert compose_search(cfg) is cfg


@pytest.mark.parametrize(
    'override,match',
    [(dict(train_cfg=dict(mode='search')),
      r"das_search.mode='search_and_train' and train_cfg.mode='search'.*"
      r'set das_search.mode .*drop train_cfg.mode'),
     (dict(optim_wrapper=dict(policy=dict(optimizer=dict(type='SGD')))),
      r'das_search.policy_optim_wrapper=.* and optim_wrapper.policy='),
     (dict(
         param_scheduler=dict(
             _delete_=True, model=[], policy=[dict(type='ConstantLR')])),
      r'das_search.policy_param_scheduler=\[\] and param_scheduler.policy'),
     (dict(das_search=dict(serch_iters=3)),
      r"das_search has no setting \['serch_iters'\]; its settings are "
      r".*'search_iters'"),
     (dict(train_cfg=dict(type='ValLoop')),
      r"train_cfg.type='ValLoop' cannot run the DAS search.*"
      r"'EpochBasedTrainLoop', 'IterBasedTrainLoop'"),
     (dict(
         optim_wrapper=dict(constructor='LayerDecayOptimWrapperConstructor')),
      r"constructor='LayerDecayOptimWrapperConstructor' cannot build "
      r'the search.*drop the constructor'),
     (dict(param_scheduler=dict(_delete_=True, weights=[])),
      r"param_scheduler has schedulers for \['weights'\]")],
    ids=[
        'stated_twice_loop', 'stated_twice_optimizer',
        'stated_twice_scheduler', 'unknown_key', 'other_loop',
        'other_constructor', 'third_wrapper'
    ])
def test_what_cannot_be_composed_is_named(override, match):
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(override)
    with pytest.raises(ValueError, match=match):
        compose_search(cfg)


def test_a_search_without_a_schedule_is_named(tmp_path):
    cfg = leaf(tmp_path, SEARCH_BASES[0])
    with pytest.raises(
            ValueError,
            match=r'das_search needs a schedule: .*'
            r'list a schedule base'):
        compose_search(cfg)


def test_the_shorthand_loop_and_the_das_loops_are_composed(tmp_path):
    cfg = Config.fromfile(DEMO)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2)
    assert compose_search(cfg).train_cfg.type == 'DASEpochBasedTrainLoop'
    cfg.train_cfg = dict(type='DASIterBasedTrainLoop', max_iters=2)
    assert compose_search(cfg).train_cfg.type == 'DASIterBasedTrainLoop'


def test_the_runner_composes_and_dumps_the_composed_config(tmp_path):
    """RUNNERS.build (what mmengine's, mmseg's and our tools call) builds a
    DASSearchRunner from the composed config, which it dumps; the dump builds
    the same run again; mmengine's plain Runner on the uncomposed config is
    refused by the loop with the fix."""
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path / 'run')
    runner = RUNNERS.build(cfg)
    assert type(runner) is DASSearchRunner
    assert 'das_search' not in runner.cfg
    assert runner.cfg.train_cfg == compose_search(cfg).train_cfg
    dumped = Config.fromfile(osp.join(runner.log_dir, 'vis_data', 'config.py'))
    assert dumped.train_cfg == runner.cfg.train_cfg
    assert compose_search(dumped).param_scheduler == dict(
        runner.cfg.param_scheduler)

    plain = Config.fromfile(DEMO)
    plain.work_dir = str(tmp_path / 'plain')
    plain.train_cfg.type = 'DASIterBasedTrainLoop'
    with pytest.raises(
            TypeError,
            match=r'states its search in das_search.*'
            r'RUNNERS.build\(cfg\)'):
        Runner.from_cfg(plain).build_train_loop(plain.train_cfg)


@pytest.mark.parametrize('composed', [True, False], ids=['source', 'dumped'])
def test_the_loop_names_a_bad_setting_where_the_config_states_it(
        tmp_path, composed):
    """das_search.policy_portion in a config with a search base;
    train_cfg.policy_portion in the config a run dumped (composed)."""
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path)
    cfg.das_search.policy_portion = 1.0
    if not composed:
        cfg = compose_search(cfg)
    runner = RUNNERS.build(cfg)
    where = 'das_search' if composed else 'train_cfg'
    with pytest.raises(
            ValueError,
            match=rf'{where}.policy_portion must be in \(0, 1\), but got 1.0'):
        runner.build_train_loop(runner.cfg.train_cfg)
