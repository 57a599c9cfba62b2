"""Exact resume with the configs we ship (issue 19.1): the demo config as it
is (dropout in the head, a data worker, the relaxed clip cell), shortened to
3 search + 3 training iterations with a checkpoint after each, resumed with
``tools/train.py --resume`` during the search, at the switch and during the
training gives the uninterrupted run's weights and policy; neither run nor
any resume prints a warning (issue 19.8)."""
import re
import shutil

import pytest
import torch
from fixtures import run_tool

from das_mmseg.engine.checkpoint import load_from_local

DEMO = 'configs/das/das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py'  # noqa: E501
SHORT = [
    'das_search.search_iters=3', 'train_cfg.max_iters=3',
    'train_cfg.val_interval=3', 'param_scheduler.0.end=3',
    'default_hooks.checkpoint.interval=1'
]


def warnings_of(proc) -> list:
    """The lines of a tool's output that warn."""
    return [
        line for line in (proc.stdout + proc.stderr).splitlines()
        if re.search(r'(?i)warning|warn\(', line)
    ]


def train(work_dir, *options, resume=False):
    """tools/train.py on the shortened demo; refuses any warning printed."""
    proc = run_tool(
        ['tools/train.py', DEMO, '--work-dir',
         str(work_dir)] + (['--resume'] if resume else []) +
        ['--cfg-options'] + SHORT + list(options),
        timeout=600,
        env={'OMP_NUM_THREADS': '1'})
    assert not warnings_of(proc), warnings_of(proc)
    return proc


def weights(path):
    return load_from_local(str(path), map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def whole(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('whole')
    train(work_dir)
    return work_dir


def test_the_demo_config_has_dropout_on():
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO)
    assert cfg.model.decode_head.dropout_ratio > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    'at', [2, 3, 4], ids=['during_search', 'at_switch', 'during_training'])
def test_resuming_the_demo_config_gives_the_uninterrupted_run(
        whole, tmp_path, at):
    shutil.copy(whole / f'iter_{at}.pth', tmp_path / f'iter_{at}.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / f'iter_{at}.pth'))
    train(tmp_path, resume=True)
    a, b = weights(whole / 'iter_6.pth'), weights(tmp_path / 'iter_6.pth')
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f'{len(different)} of {len(a)} tensors differ'
    assert (tmp_path / 'das_policy.json').exists() == (at <= 3)
    if at <= 3:
        assert (tmp_path / 'das_policy.json').read_text() == (
            whole / 'das_policy.json').read_text()


def draws():
    import random

    import numpy as np
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(),
            [random.random() for _ in range(3)])


def test_the_generators_state_round_trips_through_a_safe_checkpoint(tmp_path):
    from das_mmseg.engine.runner.rng import (preserved_rng, rng_state,
                                             set_rng_state)
    torch.manual_seed(3)
    state = rng_state()
    torch.save(dict(state=state), tmp_path / 'rng.pth')
    expected = draws()
    assert draws() != expected  # the generators moved on
    loaded = torch.load(tmp_path / 'rng.pth', weights_only=True)['state']
    set_rng_state(loaded)
    assert draws() == expected
    set_rng_state(loaded)
    with preserved_rng():
        draws()
    assert draws() == expected
