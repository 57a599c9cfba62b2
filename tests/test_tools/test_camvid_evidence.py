"""The CamVid ablation's pieces: the augmentations of the image arms move
content as the clip cell's ops do (``RandomShiftZoom``, stacked C;
``TrivialGeometricAugment``, TA), the augmented baselines are the image
baseline plus their pipeline steps, and ``tools/camvid_evidence.py`` pairs
its arms, tabulates paired differences over one machine's runs, and, with
``--smoke``, converts a SegNet-layout CamVid, trains every arm, writes one
result file per run and skips finished runs when called again."""
import functools
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from fixtures import ROOT, SAMPLE

from das_mmseg.augment.ops import Rotate, ShiftX, ShiftY, Zoom
from das_mmseg.datasets import RandomShiftZoom, TrivialGeometricAugment
from das_mmseg.engine import compose_search

CONFIGS = osp.join(ROOT, 'configs', 'das')
BASELINE = osp.join(CONFIGS,
                    'pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py')
AUGMENTED = osp.join(
    CONFIGS, 'pspnet_r18tiny-d16_1xb4-1k-shiftrotzoom_camvid-cpu-128x128.py')
TRIVIAL = osp.join(
    CONFIGS, 'pspnet_r18tiny-d16_1xb4-1k-trivialgeo_camvid-cpu-128x128.py')


def dot_image(height=41, width=61, y=20, x=30):
    img = np.zeros((height, width, 3), np.uint8)
    img[y, x] = 255
    seg = np.full((height, width), 3, np.uint8)
    return dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map'])


def where(img):
    ys, xs = np.nonzero(img[..., 0] > 0)
    return ys.mean(), xs.mean()


@pytest.mark.parametrize('shift,zoom', [(0.1, 1.0), (-0.1, 1.0), (0.0, 1.2),
                                        (0.05, 0.8)])
def test_random_shift_zoom_moves_content_as_the_cell_ops(shift, zoom):
    """A pixel goes where the cell's forward matrices (zoom about the centre,
    then shift by a fraction of the side) send it."""
    h, w, y, x = 41, 61, 14, 36
    step = RandomShiftZoom(shift=(shift, shift), zoom=(zoom, zoom))
    out = step.transform(dot_image(h, w, y, x))
    # the cell's ops, in pixel coordinates centred on the image centre
    forward = (
        ShiftY().matrix(torch.tensor([shift]), h, w)[0] @ ShiftX().matrix(
            torch.tensor([shift]), h, w)[0] @ Zoom().matrix(
                torch.tensor([zoom]), h, w)[0])
    cy, cx = (h - 1) / 2, (w - 1) / 2
    moved = forward @ torch.tensor([x - cx, y - cy, 1.0])
    got_y, got_x = where(out['img'])
    assert got_x == pytest.approx(float(moved[0]) + cx, abs=0.6)
    assert got_y == pytest.approx(float(moved[1]) + cy, abs=0.6)


def test_random_shift_zoom_pads_black_and_ignored():
    out = RandomShiftZoom(
        shift=(0.25, 0.25), zoom=(1, 1)).transform(dot_image(40, 40, 20, 10))
    # content moved right and down by 10 px: the first 10 rows and columns
    # come from outside the image
    outside = np.zeros((40, 40), bool)
    outside[:10] = outside[:, :10] = True
    seg = out['gt_seg_map']
    assert (seg[outside] == 255).all() and (seg[~outside] == 3).all()
    assert (out['img'][outside] == 0).all()
    assert where(out['img']) == pytest.approx((30, 20))
    grey = RandomShiftZoom(
        shift=(0.25, 0.25), zoom=(1, 1),
        pad_val=7).transform(dot_image(40, 40, 20, 10))
    assert (grey['img'][outside] == 7).all()  # in every channel
    kept = RandomShiftZoom(prob=0).transform(dot_image())
    assert np.array_equal(kept['img'], dot_image()['img'])


@pytest.mark.parametrize('kwargs,message',
                         [(dict(prob=1.5), 'prob must be in'),
                          (dict(shift=0.1), 'shift must be a \\(low, high\\)'),
                          (dict(zoom=(1.3, 0.7)), 'zoom must satisfy'),
                          (dict(zoom=(0, 1)), 'zoom must satisfy')])
def test_random_shift_zoom_refuses_bad_ranges(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RandomShiftZoom(**kwargs)


@pytest.mark.slow
def test_augmented_baseline_is_the_baseline_plus_shift_rotate_zoom():
    from mmengine.config import Config
    base, aug = Config.fromfile(BASELINE), Config.fromfile(AUGMENTED)
    steps = aug.train_dataloader.dataset.pipeline
    added = [t for t in steps if t.type in ('RandomShiftZoom', 'RandomRotate')]
    assert [t.type for t in steps[-3:]
            ] == ['RandomShiftZoom', 'RandomRotate', 'PackSegInputs']
    # the cell's per-step ranges (das_mmseg/augment/ops.py)
    assert tuple(added[0].shift) == (-0.12, 0.12)
    assert tuple(added[0].zoom) == Zoom.init_range
    assert added[1].degree == 20 and added[1].prob == 1
    kept = [t for t in steps if t not in added]
    assert kept == base.train_dataloader.dataset.pipeline
    for cfg in (base, aug):
        cfg.train_dataloader.dataset.pipeline = cfg.train_pipeline = None
    assert aug.to_dict() == base.to_dict()


def dot_pair(height=41, width=61, y=20, x=30):
    """A white dot on black and a label map with class 5 at the dot."""
    data = dot_image(height, width, y, x)
    data['gt_seg_map'][y, x] = 5
    return data


@pytest.mark.parametrize('seed', range(8))
def test_trivial_geometric_moves_image_and_labels_as_the_cell_op(seed):
    """One op per image: the dot and its label go where the cell's forward
    matrix of that op (about the centre) sends them."""
    h, w, y, x = 41, 61, 14, 36
    np.random.seed(seed)
    out = TrivialGeometricAugment().transform(dot_pair(h, w, y, x))
    name, value = out['trivial_geometric']
    op = {
        'shift_x': ShiftX,
        'shift_y': ShiftY,
        'zoom': Zoom,
        'rotate': Rotate
    }[name]()
    cy, cx = (h - 1) / 2, (w - 1) / 2
    moved = op.matrix(torch.tensor([value]), h, w)[0] @ torch.tensor(
        [x - cx, y - cy, 1.0])
    got_y, got_x = where(out['img'])
    assert got_x == pytest.approx(float(moved[0]) + cx, abs=0.8)
    assert got_y == pytest.approx(float(moved[1]) + cy, abs=0.8)
    label_y, label_x = np.nonzero(out['gt_seg_map'] == 5)
    assert abs(label_y.mean() - got_y) <= 1 and abs(label_x.mean() -
                                                    got_x) <= 1


def test_trivial_geometric_draws_one_op_uniformly_at_uniform_strength():
    step = TrivialGeometricAugment()
    np.random.seed(0)
    draws = [
        step.transform(dot_pair(9, 9, 4, 4))['trivial_geometric']
        for _ in range(4000)
    ]
    names = [n for n, _ in draws]
    for name, op in zip(step.op_names, step.ops):
        share = names.count(name) / len(draws)
        assert share == pytest.approx(0.25, abs=0.03)
        low, high = op.init_range
        # strength s ~ U(0, 1) of the way to an end chosen at random
        strengths = [(v - op.identity_magnitude) /
                     ((high if v >= op.identity_magnitude else low) -
                      op.identity_magnitude) for n, v in draws if n == name]
        assert min(strengths) >= 0 and max(strengths) <= 1
        assert np.mean(strengths) == pytest.approx(0.5, abs=0.04)
        above = np.mean(
            [v > op.identity_magnitude for n, v in draws if n == name])
        assert above == pytest.approx(0.5, abs=0.05)


def test_trivial_geometric_refuses_ops_without_a_warp():
    with pytest.raises(ValueError, match='not a geometric op'):
        TrivialGeometricAugment(ops=('identity', 'shift_x'))
    with pytest.raises(ValueError, match='non-empty list'):
        TrivialGeometricAugment(ops='rotate')


@pytest.mark.slow
def test_trivial_augment_baseline_is_the_baseline_plus_one_step():
    from mmengine.config import Config
    base, aug = Config.fromfile(BASELINE), Config.fromfile(TRIVIAL)
    steps = aug.train_dataloader.dataset.pipeline
    assert [t.type for t in steps[-2:]
            ] == ['TrivialGeometricAugment', 'PackSegInputs']
    assert tuple(steps[-2].ops) == ('shift_x', 'shift_y', 'zoom', 'rotate')
    assert steps[:-2] + steps[-1:] == base.train_dataloader.dataset.pipeline
    for cfg in (base, aug):
        cfg.train_dataloader.dataset.pipeline = cfg.train_pipeline = None
    assert aug.to_dict() == base.to_dict()


# --- paired statistics -------------------------------------------------------
def test_paired_interval_matches_a_hand_computation():
    from das_mmseg.analysis.paired import paired_difference, t_quantile

    # differences 1, 2, 3, 4 (seed 9 has no partner and is left out):
    # mean 2.5, sd sqrt(5/3) = 1.290994, t(0.975, 3) = 3.182446,
    # half width 3.182446 * 1.290994 / 2 = 2.054260
    first = {0: 11.0, 1: 12.0, 2: 13.0, 3: 14.0, 9: 99.0}
    second = {0: 10.0, 1: 10.0, 2: 10.0, 3: 10.0, 7: 0.0}
    diff = paired_difference('D', 'I', first, second)
    assert diff.seeds == (0, 1, 2, 3) and diff.n == 4
    assert diff.mean == pytest.approx(2.5)
    assert diff.std == pytest.approx(1.290994, abs=1e-6)
    assert t_quantile(0.975, 3) == pytest.approx(3.182446, abs=1e-6)
    assert diff.low == pytest.approx(0.445740, abs=1e-5)
    assert diff.high == pytest.approx(4.554260, abs=1e-5)
    assert diff.verdict() == 'D > I'
    # the same differences around 0 are not resolved; reversed they are <
    assert paired_difference('D', 'I', {
        s: v - 2.5
        for s, v in first.items()
    }, second).verdict().startswith('not resolved')
    assert paired_difference('I', 'D', second, first).verdict() == 'I < D'
    one = paired_difference('D', 'I', {0: 1.0}, {0: 0.0})
    assert one.low is None and one.verdict() == 'too few pairs'
    assert paired_difference('D', 'I', {0: 1.0}, {1: 0.0}) is None


def test_pairs_are_formed_only_on_one_machine():
    from das_mmseg.analysis.paired import machines_by_size, per_seed
    results = [
        dict(arm='D', seed=0, machine='m1', mIoU=20.0),
        dict(arm='D', seed=1, machine='m2', mIoU=30.0),
        dict(arm='R', seed=0, machine='m1', mIoU=10.0),
        dict(arm='R', seed=0, machine='m1', mIoU=14.0),  # a second draw
        dict(arm='I', seed=0, machine='m1', mIoU=1.0),
    ]
    assert per_seed(results, 'D', 'm1') == {0: 20.0}
    assert per_seed(results, 'D', 'm2') == {1: 30.0}
    assert per_seed(results, 'R', 'm1') == {0: 12.0}  # mean of the draws
    assert machines_by_size(results) == ['m1', 'm2']


# --- the random policy -------------------------------------------------------
OPS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate')


def magnitude_table(num_nodes=4):
    from das_mmseg.augment import num_edges
    edges = num_edges(num_nodes)
    return torch.arange(
        edges * 5, dtype=torch.float32).reshape(
            edges, 5) / 1000 + torch.tensor([1.0, 0.01, 0.02, 1.0, 3.0])


def test_random_policy_keeps_two_sources_per_node_with_the_cells_magnitudes():
    from das_mmseg.augment import node_edges
    from das_mmseg.augment.random_policy import random_policy
    table = magnitude_table()
    policy = random_policy(OPS, table, num_frames=4, seed=[3, 0])
    assert policy == random_policy(OPS, table, num_frames=4, seed=[3, 0])
    assert len({
        str(random_policy(OPS, table, 4, seed=[s, 0]).nodes)
        for s in range(20)
    }) > 15
    assert policy.num_nodes == 4 and policy.num_frames == 4
    for node, edges in enumerate(policy.nodes):
        assert len(edges) == 2 and len({e.source for e in edges}) == 2
        for edge in edges:
            assert 0 <= edge.source < node + 2
            k = OPS.index(edge.op)
            if edge.op == 'identity':
                assert edge.magnitude is None
            else:
                expected = float(table[node_edges(node)[edge.source], k])
                assert edge.magnitude == pytest.approx(expected)


def test_random_policy_draws_ops_and_sources_uniformly():
    from das_mmseg.augment.random_policy import random_policy
    table = magnitude_table()
    ops, pairs = [], []
    for seed in range(1500):
        policy = random_policy(OPS, table, 4, seed=[seed, 0])
        ops += [e.op for edges in policy.nodes for e in edges]
        pairs.append(tuple(e.source for e in policy.nodes[3]))
    for op in OPS:
        assert ops.count(op) / len(ops) == pytest.approx(0.2, abs=0.02)
    # node 3 has 5 sources: 10 pairs, each 1/10
    assert len(set(pairs)) == 10
    for pair in set(pairs):
        assert pairs.count(pair) / len(pairs) == pytest.approx(0.1, abs=0.025)


def test_random_policy_refuses_a_table_of_no_cell():
    from das_mmseg.augment.random_policy import random_policy
    with pytest.raises(ValueError, match=r'\(E, K\)'):
        random_policy(OPS, torch.zeros(13, 5), 4, seed=0)
    with pytest.raises(ValueError, match='edges_per_node'):
        random_policy(OPS, magnitude_table(), 4, seed=0, edges_per_node=3)


# --- the tool ----------------------------------------------------------------
def segnet_layout(root, train=4, val=2):
    """A CamVid of the SegNet release's layout (void = 11) made of the
    bundled sample's first images."""
    for split, count in (('train', train), ('val', val)):
        names = sorted(os.listdir(osp.join(SAMPLE, 'img_dir', split)))[:count]
        for kind in ('img', 'ann'):
            os.makedirs(osp.join(root, split, kind))
        for name in names:
            stem = osp.splitext(name)[0]
            img = cv2.imread(osp.join(SAMPLE, 'img_dir', split, name))
            ann = cv2.imread(
                osp.join(SAMPLE, 'ann_dir', split, stem + '.png'),
                cv2.IMREAD_UNCHANGED)
            cv2.imwrite(osp.join(root, split, 'img', name), img)
            cv2.imwrite(
                osp.join(root, split, 'ann', stem + '.png'),
                np.where(ann == 255, 11, ann).astype(np.uint8))


@functools.lru_cache(maxsize=None)
def load_tool():
    spec = importlib.util.spec_from_file_location(
        'camvid_evidence', osp.join(ROOT, 'tools', 'camvid_evidence.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_seeds_and_arms_on_the_command_line():
    tool = load_tool()
    assert tool.parse_seeds(['0-2,5', '7', '1']) == [0, 1, 2, 5, 7]
    arms = tool.parse_arms(['D', 'R=0-1,12', 'A=0-4'], [0, 1, 2])
    # R draws from D of its seed: D is added where R needs it
    assert arms == {'D': [0, 1, 2, 12], 'R': [0, 1, 12], 'A': [0, 1, 2, 3, 4]}
    args = tool.parse_args(['camvid'])
    assert args.arms == {
        'D': list(range(10)),
        'I': list(range(10)),
        'R': list(range(10)),
        'A': list(range(5)),
        'A4': list(range(5)),
        'TA': list(range(5))
    }
    for bad in (['--arms', 'Q'], ['--seeds',
                                  '3-1'], ['--draws',
                                           '0'], ['--max-iters', '0']):
        with pytest.raises(SystemExit):
            tool.parse_args(['camvid', *bad])


@pytest.mark.slow
def test_runs_set_each_arms_schedule_seed_and_policy(tmp_path):
    from mmengine.config import Config
    tool = load_tool()
    arms = tool.parse_arms(['D', 'I', 'R', 'A', 'A4', 'TA'], [3, 4])
    runs = tool.make_runs(
        str(tmp_path), str(tmp_path / 'results'), 'data/x', arms,
        tool.Schedule(search_iters=7, max_iters=40), 'mach1')
    # seed by seed, the longest arm first; R after D of its seed
    assert [r.name for r in runs[:6]] == [
        'D_seed3', 'I_seed3', 'R_seed3_draw0', 'A4_seed3', 'A_seed3',
        'TA_seed3'
    ]
    by_name = {r.name: r for r in runs}
    assert by_name['R_seed4_draw0'].depends_on is by_name['D_seed4']
    assert by_name['R_seed4_draw0'].result_file == str(
        tmp_path / 'results' / 'R_seed4_draw0__mach1.json')
    schedule = {
        r.arm.key: (r.search_iters, r.max_iters, r.total_iters)
        for r in runs
    }
    assert schedule == {
        'D': (7, 40, 47),
        'I': (0, 40, 40),
        'R': (0, 40, 40),
        'A4': (0, 160, 160),  # T = 4 times the iterations
        'A': (0, 40, 40),
        'TA': (0, 40, 40)
    }
    for run in runs:
        cfg = Config.fromfile(run.config)
        cfg.merge_from_dict(run.options)
        cfg = compose_search(cfg)  # as the runner reads it
        assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval
        assert cfg.randomness.seed == run.seed
        assert cfg.train_dataloader.dataset.data_root == 'data/x'
        schedulers = cfg.param_scheduler
        if run.arm.is_clip:
            schedulers = schedulers['model']
        assert [s['end'] for s in schedulers] == [run.max_iters]
        if run.arm.key == 'D':
            assert cfg.train_cfg.search_iters == 7
            assert cfg.train_cfg.split_seed == run.seed
            assert cfg.train_cfg.mode == 'search_and_train'
        elif run.arm.key in ('I', 'R'):  # no search, a policy file
            assert cfg.train_cfg.mode == 'train'
            assert cfg.train_cfg.policy_file == run.policy_file
        else:
            assert 'clip_cell' not in cfg.model


@pytest.mark.slow
def test_arms_of_one_seed_start_from_the_same_weights_and_magnitudes(
        tmp_path, one_thread):
    """Pairing: a Runner built for each arm of seed 3 (as tools/train.py
    builds it) initialises the same weights within each model family, and
    the clip arms draw the same magnitudes; a different seed differs."""
    from mmengine.config import Config
    from mmengine.registry import RUNNERS

    from das_mmseg.augment.policy import Policy
    tool = load_tool()
    arms = tool.parse_arms(['D', 'I', 'R', 'A', 'A4', 'TA'], [3])
    arms['A'].append(4)
    runs = tool.make_runs(
        str(tmp_path), str(tmp_path / 'results'), SAMPLE, arms,
        tool.Schedule(search_iters=2, max_iters=2), 'mach1')
    tool.write_identity_policy(runs[1].policy_file)
    searched = Policy.load(runs[1].policy_file).to_dict()
    searched['magnitude_seed'] = 11
    os.makedirs(runs[2].work_dir)
    tool.draw_random_policy(searched, 3, 0).save(runs[2].policy_file)

    def initial_state(run):
        cfg = Config.fromfile(run.config)
        cfg.merge_from_dict(run.options)
        cfg.work_dir = str(tmp_path / run.name)
        cfg.visualizer.name = run.name
        runner = RUNNERS.build(cfg)
        runner.model.init_weights()
        return {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
            if not k.endswith('_extra_state')
        }

    states = {run.name: initial_state(run) for run in runs}
    families = (('D_seed3', 'I_seed3', 'R_seed3_draw0'),
                ('A_seed3', 'A4_seed3', 'TA_seed3'))
    for family in families:
        first = states[family[0]]
        for other in family[1:]:
            assert states[other].keys() == first.keys()
            for key in first:
                assert torch.equal(states[other][key],
                                   first[key]), (other, key)
    assert 'clip_cell.magnitude_values' in states['D_seed3']
    assert not torch.equal(states['A_seed3']['decode_head.conv_seg.weight'],
                           states['A_seed4']['decode_head.conv_seg.weight'])


@pytest.mark.slow
def test_smoke_trains_every_arm_writes_results_and_tabulates_pairs(
        tmp_path, capsys, one_thread, monkeypatch):
    # each mmseg:: base reads mmseg's model-zoo metafiles (about 1.4 s a
    # time, as in test_configs.py): read them once
    import mmengine.config.utils as config_utils
    monkeypatch.setattr(config_utils, 'load',
                        functools.lru_cache(maxsize=None)(config_utils.load))
    from das_mmseg.analysis.paired import paired_difference
    from das_mmseg.augment.policy import Policy
    tool = load_tool()
    camvid, work = tmp_path / 'camvid', tmp_path / 'work'
    segnet_layout(str(camvid))
    argv = [
        str(camvid), '--work-dir',
        str(work), '--smoke', '--arms', 'D=0-1', 'I=0-1', 'R=0', 'A=0', 'A4=0',
        'TA=0', 'DW=0', 'RW=0'
    ]
    assert tool.main(argv) == 0
    out = capsys.readouterr().out
    data = work / 'data'
    assert len(os.listdir(data / 'img_dir' / 'train')) == 4
    ann = cv2.imread(
        str(next((data / 'ann_dir' / 'val').iterdir())), cv2.IMREAD_UNCHANGED)
    assert ann.shape == (90, 120) and ann.max() == 255  # half size, void
    machine = tool.machine_info()['key']
    results_dir = work / 'results' / 'smoke_camvid-cpu-128x128_search2_train2'
    results = {
        p.name.split('__')[0]: json.loads(p.read_text())
        for p in results_dir.glob('*.json')
    }
    assert sorted(results) == sorted([
        'D_seed0', 'D_seed1', 'I_seed0', 'I_seed1', 'R_seed0_draw0', 'A_seed0',
        'A4_seed0', 'TA_seed0', 'DW_seed0', 'RW_seed0_draw0'
    ])
    # the warped arms: RW draws from DW's space
    assert Policy.from_dict(results['RW_seed0_draw0']['policy']) == (
        tool.draw_random_policy(results['DW_seed0']['policy'], 0, 0))
    for name, result in results.items():
        assert result['machine'] == machine and result['cpu']
        assert 0 <= result['mIoU'] <= 100 and result['wall_s'] > 0
        assert result['step'] == result['search_iters'] + result['max_iters']
        assert result['flops']['per_val_image'] > result['flops'][
            'per_train_crop'] > 0
    assert results['D_seed0']['step'] == 4 and results['A4_seed0']['step'] == 8
    assert results['A_seed0']['policy'] is None
    # the search's diagnostics, from das_alpha.json
    search = results['D_seed0']['search']
    assert search['alpha_steps'] == 2 and 0 < search['alpha_entropy_end'] <= 1
    assert 'implicit_ratio_median' not in search  # first-order steps
    assert f'{search["identity_pull_mean"]:+.3f} |' in (
        results_dir / 'table.md').read_text()
    assert results['D_seed0']['flops'][
        'per_train_crop'] > 3 * results['A_seed0']['flops']['per_train_crop']
    identity = Policy.from_dict(results['I_seed0']['policy'])
    assert identity.is_identity()
    # R: a random draw of D's space with D's magnitudes (same seed)
    searched = Policy.from_dict(results['D_seed0']['policy'])
    drawn = Policy.from_dict(results['R_seed0_draw0']['policy'])
    assert drawn == tool.draw_random_policy(searched.to_dict(), 0, 0)
    assert drawn.magnitude_seed == searched.magnitude_seed
    assert drawn.num_nodes == searched.num_nodes
    # the table: D - I over the two seeds of this machine, with its interval
    table = (results_dir / 'table.md').read_text()
    assert table.strip() in out
    assert f'### Machine `{machine}`' in table
    diff = paired_difference(
        'D', 'I', {s: results[f'D_seed{s}']['mIoU']
                   for s in (0, 1)},
        {s: results[f'I_seed{s}']['mIoU']
         for s in (0, 1)})
    assert (f'| D − I | 2 | {diff.mean:+.2f} | {diff.std:.2f} | '
            f'[{diff.low:+.2f}, {diff.high:+.2f}] | {diff.verdict()} |'
            in table)
    assert '| D − R | 1 |' in table and 'too few pairs' in table
    assert '| A4 | image baseline, T x the iterations | 1 | 8 | 4.00 |' in (
        table)
    # finished runs are skipped; --table-only trains nothing
    assert tool.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count('done, skipped') == 10 and ': start' not in out
    assert tool.main(argv + ['--table-only']) == 0
    assert table.strip() in capsys.readouterr().out


def test_an_interrupted_run_resumes_and_r_waits_for_d(tmp_path, monkeypatch):
    """A run whose work dir has a checkpoint goes on with --resume; R starts
    only once D of its seed has a result, and not at all if D failed."""
    tool = load_tool()
    arms = tool.parse_arms(['D', 'R', 'A'], [0, 1])
    runs = tool.make_runs(
        str(tmp_path), str(tmp_path / 'results'), 'data/x', arms,
        tool.Schedule(search_iters=2, max_iters=2), 'mach1')
    by_name = {r.name: r for r in runs}
    fresh = by_name['A_seed0'].argv()
    assert '--resume' not in fresh and fresh[1:3] == [
        '--work-dir', by_name['A_seed0'].work_dir
    ]
    os.makedirs(by_name['A_seed0'].work_dir)
    (tmp_path / 'A_seed0' / 'last_checkpoint').write_text('iter_1.pth')
    assert '--resume' in by_name['A_seed0'].argv()

    started = []

    def fake_train(run, in_process, machine):
        started.append((run.name, [r.name for r in runs if r.is_done()]))
        if run.name == 'D_seed1':
            raise RuntimeError('diverged')
        os.makedirs(run.results_dir, exist_ok=True)
        with open(run.result_file, 'w') as f:
            json.dump(dict(mIoU=1.0, wall_s=1.0), f)
        return dict(mIoU=1.0, wall_s=1.0)

    monkeypatch.setattr(tool, 'train', fake_train)
    failed = tool.run_all(runs, 2, False, dict(key='mach1'))
    assert sorted(failed) == ['D_seed1', 'R_seed1_draw0']
    names = [name for name, _ in started]
    assert 'R_seed1_draw0' not in names
    r0 = next(done for name, done in started if name == 'R_seed0_draw0')
    assert 'D_seed0' in r0  # D's result existed when R started


@pytest.mark.slow
def test_the_arms_of_issue_17_run_their_variants(tmp_path):
    """DU: D with second-order α steps; DW, IW, RW: D, I, R with the warped
    objective (read with the reference frame); RW draws from DW."""
    from mmengine.config import Config
    tool = load_tool()
    arms = tool.parse_arms(['DU', 'IW', 'RW'], [5])
    assert arms == {'DU': [5], 'IW': [5], 'RW': [5], 'DW': [5]}
    runs = {
        r.name: r
        for r in tool.make_runs(
            str(tmp_path), str(tmp_path / 'results'), 'data/x', arms,
            tool.Schedule(search_iters=7, max_iters=40), 'mach1')
    }
    assert runs['RW_seed5_draw0'].depends_on is runs['DW_seed5']
    for name, run in runs.items():
        cfg = Config.fromfile(run.config)
        cfg.merge_from_dict(run.options)
        cfg = compose_search(cfg)  # as the runner reads it
        warped = name.startswith(('DW', 'IW', 'RW'))
        assert cfg.model.get(
            'loss_target',
            'reference') == ('warped' if warped else 'reference')
        assert cfg.model.get('fusion') == ('reference' if warped else 'logits')
        assert cfg.train_cfg.get('unrolled', False) == (name == 'DU_seed5')
        assert cfg.train_cfg.mode == ('search_and_train' if name.startswith(
            ('DU', 'DW')) else 'train')
