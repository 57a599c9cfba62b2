"""The CamVid evidence table's pieces: ``RandomShiftZoom`` moves content as
the clip cell's shift and zoom ops do, the augmented baseline is the image
baseline plus two pipeline steps, and ``tools/camvid_evidence.py --smoke``
converts a SegNet-layout CamVid, trains (a), (b) and (c), prints the table
with the derived policy, and skips finished runs when called again."""
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

from das_mmseg.augment.ops import ShiftX, ShiftY, Zoom
from das_mmseg.datasets import RandomShiftZoom

CONFIGS = osp.join(ROOT, 'configs', 'das')
BASELINE = osp.join(CONFIGS,
                    'pspnet_r18tiny-d16_1xb4-1k_camvid-cpu-128x128.py')
AUGMENTED = osp.join(
    CONFIGS, 'pspnet_r18tiny-d16_1xb4-1k-shiftrotzoom_camvid-cpu-128x128.py')


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


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'camvid_evidence', osp.join(ROOT, 'tools', 'camvid_evidence.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.mark.slow
def test_evidence_tool_sets_the_schedule_of_every_method(tmp_path):
    from mmengine.config import Config
    tool = load_tool()
    runs = tool.make_runs(
        str(tmp_path), 'data/x', [3], False, max_iters=40, search_iters=7)
    assert {
        r.method.key: (r.search_iters, r.max_iters, r.total_iters)
        for r in runs
    } == {
        'das': (7, 40, 47),
        'baseline': (0, 40, 40),
        'shiftrotzoom': (0, 40, 40),
        'identity': (0, 40, 40)
    }
    for run in runs:
        cfg = Config.fromfile(run.config)
        cfg.merge_from_dict(run.options)
        assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == 40
        schedulers = cfg.param_scheduler
        if run.method.searches:
            assert cfg.train_cfg.search_iters == 7
            assert cfg.train_cfg.split_seed == 3
        if run.method.is_das:
            schedulers = schedulers['model']
        if run.method.key == 'identity':  # (d): no search, the identity
            assert cfg.train_cfg.mode == 'train'
            assert cfg.train_cfg.policy_file == str(tmp_path /
                                                    'identity_policy.json')
        assert [s['end'] for s in schedulers] == [40]
        assert cfg.randomness.seed == 3
        assert cfg.train_dataloader.dataset.data_root == 'data/x'
    with pytest.raises(SystemExit):
        tool.parse_args(['camvid', '--max-iters', '0'])


@pytest.mark.slow
def test_evidence_tool_smoke_converts_trains_and_tabulates(
        tmp_path, capsys, one_thread, monkeypatch):
    # each mmseg:: base reads mmseg's model-zoo metafiles (about 1.4 s a
    # time, as in test_configs.py): read them once
    import mmengine.config.utils as config_utils
    monkeypatch.setattr(config_utils, 'load',
                        functools.lru_cache(maxsize=None)(config_utils.load))
    main = load_tool().main
    camvid, work = tmp_path / 'camvid', tmp_path / 'work'
    segnet_layout(str(camvid))
    assert main([str(camvid), str(work), '--smoke']) == 0
    out = capsys.readouterr().out
    data = work / 'data'
    assert len(os.listdir(data / 'img_dir' / 'train')) == 4
    ann = cv2.imread(
        str(next((data / 'ann_dir' / 'val').iterdir())), cv2.IMREAD_UNCHANGED)
    assert ann.shape == (90, 120) and ann.max() == 255  # half size, void
    rows = {}
    for method in ('baseline', 'das', 'shiftrotzoom', 'identity'):
        result = json.loads(
            (work / f'{method}_seed0' / 'evidence.json').read_text())
        assert 0 <= result['mIoU'] <= 100
        assert result['step'] == (4 if method == 'das' else 2)
        rows[method] = result['mIoU']
    # (d) trains the DAS model on the identity clip, without a search
    assert not (work / 'identity_seed0' / 'das_policy.json').exists()
    identity = json.loads((work / 'identity_policy.json').read_text())
    assert {e['op']
            for node in identity['nodes']
            for e in node} == {'identity'}
    table = (work / 'table.md').read_text()
    assert table.strip() in out
    assert f'| (a) image baseline | 1 | {rows["baseline"]:.2f} |' in table
    assert f'| 4 | {rows["das"]:.2f} |' in table
    assert f'(no search) | 4 | {rows["identity"]:.2f} |' in table
    policy = json.loads((work / 'das_seed0' / 'das_policy.json').read_text())
    first = policy['nodes'][0][0]
    assert f'{first["op"]}' in table.split('Derived DAS policies')[1]
    assert 'at 64x64 |' in table  # the crops of --smoke
    # finished runs are skipped
    assert main([str(camvid), str(work), '--smoke']) == 0
    out = capsys.readouterr().out
    assert out.count('done, skipped') == 4 and 'start' not in out
