"""Mixed precision with the DAS loop's two optimizer wrappers (issue 20.2),
as far as a CPU shows it: ``--amp``'s ``AmpOptimWrapper`` for the weights
gives the policy one of its own (same autocast dtype, its own scaler); the α
step runs under that autocast, takes unscaled steps, lets the scaler skip an
overflow; both scalers are saved and resumed exactly in a real Runner.

mmengine's ``AmpOptimWrapper`` asserts an accelerator when it is built and
takes CUDA's ``GradScaler``; here it is let build on the CPU and given
torch's CPU ``GradScaler`` (the same class torch uses for CUDA, on the CPU
device), with bfloat16 autocast: every other part is the real one. fp16 with
CUDA kernels is for ``tools/check_gpu.py``."""
import copy
import functools

import pytest
import torch
from fixtures import build, cell_cfg, search_cfg, segmentor_cfg, toy
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from das_mmseg.engine import Unrolled, arch_step
from das_mmseg.engine.optimizers import DASOptimWrapperConstructor

SGD = dict(type='SGD', lr=0.01, momentum=0.9)


@pytest.fixture
def amp_on_cpu(monkeypatch):
    """Let ``AmpOptimWrapper`` build on the CPU with a CPU ``GradScaler``."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    monkeypatch.setattr(amp, 'GradScaler',
                        functools.partial(torch.amp.GradScaler, 'cpu'))


def amp_policy(model, init_scale, lr=1.0):
    """An AmpOptimWrapper over the toy's α (SGD: the step is -lr * grad)."""
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.clip_cell.arch_parameters(), lr=lr),
        dtype='bfloat16',
        loss_scale=dict(init_scale=init_scale))
    return wrapper


def test_the_policy_follows_the_weights_into_mixed_precision(amp_on_cpu):
    model = build(segmentor_cfg(video=True, clip_cell=cell_cfg(3)))
    cfg = dict(
        type='AmpOptimWrapper',
        dtype='bfloat16',
        optimizer=SGD,
        policy=dict(type='OptimWrapper', optimizer=dict(type='Adam')))
    wrappers = DASOptimWrapperConstructor(copy.deepcopy(cfg))(model)
    weights, policy = wrappers['model'], wrappers['policy']
    assert isinstance(weights, AmpOptimWrapper)
    assert isinstance(policy, AmpOptimWrapper)
    assert policy.cast_dtype == weights.cast_dtype == torch.bfloat16
    assert policy.loss_scaler is not weights.loss_scaler
    assert isinstance(policy.optimizer, torch.optim.Adam)
    # a policy wrapper of another type is built as given; plain weights
    # keep a plain policy
    cfg['policy'] = dict(
        type='AmpOptimWrapper',
        loss_scale=8.0,
        dtype='float32',
        optimizer=dict(type='Adam'))
    policy = DASOptimWrapperConstructor(copy.deepcopy(cfg))(model)['policy']
    assert policy.cast_dtype == torch.float32
    assert policy.loss_scaler.get_scale() == 8.0
    plain = dict(cfg, type='OptimWrapper')
    plain.pop('dtype')
    plain['policy'] = dict(type='OptimWrapper', optimizer=dict(type='Adam'))
    policy = DASOptimWrapperConstructor(plain)(model)['policy']
    assert type(policy) is OptimWrapper


def alpha_step(init_scale, amp=True, diagnostics=None):
    model, _, _, batches = toy(dtype=torch.float32)
    cell = model.clip_cell
    dtypes = []
    model.conv.register_forward_hook(
        lambda module, args, out: dtypes.append(out.dtype))
    policy = (
        amp_policy(model, init_scale) if amp else OptimWrapper(
            torch.optim.SGD(cell.arch_parameters(), lr=1.0)))
    before = cell.alpha.detach().clone()
    arch_step(model, policy, batches[1], 0, diagnostics)
    return before, cell.alpha.detach().clone(), policy, dtypes


def test_the_alpha_step_runs_under_autocast_and_steps_unscaled(amp_on_cpu):
    before, fp32, _, dtypes = alpha_step(None, amp=False)
    assert dtypes == [torch.float32]
    steps = {}
    for scale in (1.0, 2.0**12):
        diagnostics = {}
        start, after, policy, dtypes = alpha_step(scale, True, diagnostics)
        assert torch.equal(start, before)
        assert dtypes == [torch.bfloat16]  # the forward ran in bf16
        steps[scale] = after - start
        # the dynamic scaler counted one good step
        assert policy.loss_scaler.get_scale() == scale
        assert diagnostics['alpha_entropy'] > 0
    # the scale is a power of two: the same gradient, unscaled, exactly
    torch.testing.assert_close(steps[2.0**12], steps[1.0], rtol=0, atol=0)
    # and the bf16 step is the fp32 one up to bf16 rounding
    torch.testing.assert_close(steps[1.0], fp32 - before, rtol=5e-2, atol=1e-4)
    assert steps[1.0].abs().sum() > 0


def test_an_overflowing_alpha_step_is_skipped_not_raised(amp_on_cpu):
    diagnostics = {}
    before, after, policy, _ = alpha_step(float('inf'), True, diagnostics)
    assert torch.equal(before, after)
    assert 'identity_pull' not in diagnostics  # not computed from inf
    # without a scaler a non-finite gradient stays an error
    model, _, _, batches = toy(dtype=torch.float32)
    with torch.no_grad():
        model.head.weight.fill_(float('nan'))
    plain = OptimWrapper(torch.optim.SGD(model.clip_cell.arch_parameters(), 1))
    with pytest.raises(FloatingPointError, match='search loss is nan'):
        arch_step(model, plain, batches[1], 0)


def test_the_second_order_step_is_refused_under_mixed_precision(amp_on_cpu):
    model, weights, _, batches = toy(dtype=torch.float32)
    with pytest.raises(ValueError, match='unrolled.*mixed precision'):
        arch_step(model, amp_policy(model, 1.0), batches[1], 0, None,
                  Unrolled(batches[0], weights))


def amp_cfg(work_dir, **loop):
    cfg = search_cfg(
        work_dir,
        num_workers=1,
        checkpoint_interval=1,
        search_iters=3,
        max_iters=2,
        **loop)
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.dtype = 'bfloat16'
    # scales that double at every good step, from different starts: a
    # resume that lost either would show
    cfg.optim_wrapper.loss_scale = dict(init_scale=2.0**4, growth_interval=1)
    cfg.optim_wrapper.policy.update(
        type='AmpOptimWrapper',
        dtype='bfloat16',
        loss_scale=dict(init_scale=2.0**10, growth_interval=1))
    return cfg


def scales(runner):
    return {
        name: runner.optim_wrapper[name].loss_scaler.get_scale()
        for name in ('model', 'policy')
    }


@pytest.mark.slow
def test_a_mixed_precision_search_trains_and_resumes_exactly(
        amp_on_cpu, tmp_path, one_thread):
    autocast = []

    def record(module, args):
        autocast.append(torch.is_autocast_enabled('cpu'))

    whole = Runner.from_cfg(amp_cfg(tmp_path / 'whole'))
    whole.model.backbone.register_forward_pre_hook(record)
    whole.train()
    # 3 α steps + 5 weight steps, every forward in autocast
    assert autocast == [True] * 8
    # the retrain restores the weight wrapper's initial state, its scaler's
    # with it: 2 good steps after the switch; the policy's 3 α steps
    assert scales(whole) == {'model': 2.0**(4 + 2), 'policy': 2.0**(10 + 3)}
    checkpoint = _load_checkpoint(str(tmp_path / 'whole' / 'iter_2.pth'))
    saved = checkpoint['optimizer']
    assert saved['model']['loss_scaler']['scale'] == 2.0**6
    assert saved['policy']['loss_scaler']['scale'] == 2.0**12

    cfg = amp_cfg(tmp_path / 'resumed')
    cfg.load_from, cfg.resume = str(tmp_path / 'whole' / 'iter_2.pth'), True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert scales(resumed) == scales(whole)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different
    assert resumed.model.clip_cell.policy == whole.model.clip_cell.policy


@pytest.mark.slow
def test_the_loop_refuses_an_unrolled_search_under_mixed_precision(
        amp_on_cpu, tmp_path, one_thread):
    runner = Runner.from_cfg(amp_cfg(tmp_path, unrolled=True))
    with pytest.raises(ValueError, match='unrolled.*mixed precision'):
        runner.train()
    assert not list(tmp_path.glob('*.pth'))  # refused before any step
