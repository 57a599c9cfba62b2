"""The α step (``arch_step``) on a real clip segmentor and real batches: it
changes α and nothing else, refuses non-finite values naming the iteration,
and its diagnostics (``search_diagnostics``) agree with a hand calculation
and with what an SGD step does."""
import numpy as np
import pytest
import torch
from fixtures import das_optim_wrapper, search_model

import das_mmseg  # noqa: F401
from das_mmseg.engine import arch_step, search_diagnostics

# tiny tensors: see conftest.one_thread
pytestmark = pytest.mark.usefixtures('one_thread')


def test_arch_step_changes_alpha_and_nothing_else(cfg, batches):
    model = search_model(cfg, learn_magnitudes=True)
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
        model = search_model(cfg)
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
    model = search_model(cfg)
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
