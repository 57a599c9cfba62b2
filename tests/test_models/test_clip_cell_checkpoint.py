"""The model owns its policy: a saved ``ClipEncoderDecoder`` restores its
cell's policy (or its absence) through mmengine's ``load_checkpoint``,
mmseg's ``init_model`` and a Runner's ``load_from``; old checkpoints load with
a clear warning."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint, save_checkpoint
from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu
from mmseg.registry import MODELS

import das_mmseg  # noqa: F401

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
NORM = dict(type='BN', requires_grad=True)
POLICY_HINT = ('--cfg-options model.clip_cell.policy=<work_dir>/'
               'das_policy.json')


def model_cfg(**cell) -> dict:
    return dict(
        type='ClipEncoderDecoder',
        data_preprocessor=dict(
            type='ClipSegDataPreProcessor',
            mean=MEAN,
            std=STD,
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255,
            size_divisor=16),
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            stem_channels=8,
            base_channels=8,
            out_indices=(3, ),
            norm_cfg=NORM),
        decode_head=dict(
            type='FCNHead',
            in_channels=64,
            in_index=0,
            channels=8,
            num_convs=1,
            concat_input=False,
            num_classes=3,
            norm_cfg=NORM,
            align_corners=False),
        clip_cell=dict(type='ClipCell', num_frames=3, num_nodes=2, **cell),
        test_cfg=dict(mode='whole'))


def build(**cell):
    init_default_scope('mmseg')
    return MODELS.build(model_cfg(**cell)).eval()


def save(model, path) -> str:
    """As the runner's CheckpointHook writes it."""
    save_checkpoint(
        dict(
            meta=dict(dataset_meta=dict(classes=('a', 'b', 'c'))),
            state_dict=weights_to_cpu(get_state_dict(model))), str(path))
    return str(path)


@pytest.fixture(scope='module')
def images():
    torch.manual_seed(0)
    return torch.randn(2, 3, 32, 32)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A model with a derived policy, saved; and a relaxed one."""
    torch.manual_seed(1)
    model = build()
    with torch.no_grad():
        model.clip_cell.alpha.normal_()
    policy = model.clip_cell.discretize()
    relaxed_path = save(model, tmp_path_factory.mktemp('r') / 'relaxed.pth')
    model.clip_cell.set_policy(policy)
    path = save(model, tmp_path_factory.mktemp('p') / 'policy.pth')
    return model, policy, path, relaxed_path


def test_load_checkpoint_and_init_model_restore_the_policy(trained, images):
    model, policy, path, relaxed_path = trained
    assert not model.clip_cell.policy.is_identity()
    fresh = build()
    assert fresh.clip_cell.policy is None
    load_checkpoint(fresh, path, map_location='cpu')
    assert fresh.clip_cell.policy == policy
    with torch.no_grad():
        torch.testing.assert_close(
            fresh.clip_cell(images), model.clip_cell(images))
        torch.testing.assert_close(
            fresh._forward(images), model._forward(images))
    from mmseg.apis import init_model
    inferred = init_model(Config(dict(model=model_cfg())), path, 'cpu')
    assert inferred.clip_cell.policy == policy
    # a relaxed checkpoint stays relaxed, even over a policy set before
    load_checkpoint(fresh, relaxed_path, map_location='cpu')
    assert fresh.clip_cell.policy is None
    assert init_model(Config(dict(model=model_cfg())), relaxed_path,
                      'cpu').clip_cell.policy is None


def test_a_config_policy_overrides_the_checkpoint_with_a_warning(trained):
    _, policy, path, _ = trained
    torch.manual_seed(5)
    other = build(alpha_std=1.0).clip_cell.discretize()
    assert other != policy
    from mmseg.apis import init_model
    with pytest.warns(UserWarning, match=r'config.s policy .*overrides'):
        model = init_model(
            Config(dict(model=model_cfg(policy=other.to_dict()))), path, 'cpu')
    assert model.clip_cell.policy == other


def test_an_old_checkpoint_loads_with_a_warning_naming_the_policy_option(
        trained, tmp_path):
    model, _, _, _ = trained
    state = copy.deepcopy(weights_to_cpu(get_state_dict(model)))
    # as saved before the policy state and per-edge magnitudes
    del state['clip_cell._extra_state'], state['clip_cell.magnitude_values']
    state['clip_cell.magnitude_logit'] = torch.zeros(5)
    old = str(tmp_path / 'old.pth')
    save_checkpoint(dict(meta={}, state_dict=state), old)
    fresh = build()
    with pytest.warns(UserWarning) as record:
        load_checkpoint(fresh, old, map_location='cpu', strict=True)
    messages = '\n'.join(str(w.message) for w in record)
    assert 'no policy state' in messages and POLICY_HINT in messages
    assert 'magnitude_logit has shape (5,)' in messages
    assert fresh.clip_cell.policy is None
    torch.testing.assert_close(fresh.clip_cell.alpha, model.clip_cell.alpha)


@pytest.mark.slow
def test_runner_load_from_restores_the_policy(trained, tmp_path):
    from mmengine.runner import Runner
    _, policy, path, _ = trained
    runner = Runner(
        model=model_cfg(),
        work_dir=str(tmp_path),
        load_from=path,
        default_scope='mmseg',
        log_level='WARNING')
    runner.load_or_resume()
    assert runner.model.clip_cell.policy == policy
