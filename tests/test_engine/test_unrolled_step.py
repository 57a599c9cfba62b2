"""DARTS' second-order α step (:class:`das_mmseg.engine.Unrolled`): ξ = 0 is
the first-order step, the finite-difference hypergradient matches exact
double back-propagation through the virtual weight step, and nothing but α
changes."""
import pytest
import torch
from fixtures import toy
from torch.func import functional_call

from das_mmseg.engine import Unrolled, arch_step
from das_mmseg.engine.arch_step import batch_loss, frozen_buffers


def exact_hypergradient(model, wrapper, weight_batch, policy_batch, xi):
    """d/dα L_val(w - ξ (μ m + ∇_w L_train(w, α) + λ w), α) by double
    back-propagation (the virtual step a function of α)."""
    cell = model.clip_cell
    names = {p: n for n, p in model.named_parameters()}
    group = wrapper.optimizer.param_groups[0]
    state = wrapper.optimizer.state
    with cell.arch_grad(), frozen_buffers(model):
        params = group['params']
        grads = torch.autograd.grad(
            batch_loss(model, weight_batch), params, create_graph=True)
        stepped = {
            names[p]:
            p - xi * (g + group['weight_decay'] * p +
                      group['momentum'] * state[p]['momentum_buffer'])
            for p, g in zip(params, grads)
        }
        data = model.data_preprocessor(policy_batch, True)
        loss = functional_call(model, stepped, args=(), kwargs=data)['loss']
        return torch.autograd.grad(loss, [cell.alpha])[0]


def test_finite_difference_matches_double_backward():
    model, wrapper, _, batches = toy()
    cell = model.clip_cell
    for xi in (0.1, 0.5):
        exact = exact_hypergradient(model, wrapper, batches[0], batches[1], xi)
        with cell.arch_grad(), frozen_buffers(model):
            _, (grad, ), sizes = Unrolled(
                batches[0], wrapper,
                xi=xi).hypergradient(model, [cell.alpha], batches[1])
        assert sizes['implicit_ratio'] > 1e-3  # a term worth computing
        error = (grad - exact).norm() / exact.norm()
        assert error < 1e-3, (xi, float(error))
    # the first-order gradient is not the hypergradient
    with cell.arch_grad(), frozen_buffers(model):
        first = torch.autograd.grad(
            batch_loss(model, batches[1]), [cell.alpha])[0]
    assert (first - exact).norm() / exact.norm() > 1e-2


def test_xi_zero_is_the_first_order_step_and_weights_stay():
    alphas = []
    for unrolled in (False, True):
        model, wrapper, policy, batches = toy(dtype=torch.float32)
        weights = {n: p.detach().clone() for n, p in model.named_parameters()}
        buffers = {n: b.clone() for n, b in model.named_buffers()}
        momentum = {
            id(p): s['momentum_buffer'].clone()
            for p, s in wrapper.optimizer.state.items()
        }
        arch_step(
            model,
            policy,
            batches[1],
            0,
            unrolled=Unrolled(batches[0], wrapper, xi=0.0)
            if unrolled else None)
        alphas.append(model.clip_cell.alpha.detach().clone())
        for n, p in model.named_parameters():
            if 'clip_cell' not in n:
                assert torch.equal(p, weights[n]), n
                assert p.grad is None or not p.grad.any()
        for n, b in model.named_buffers():
            assert torch.equal(b, buffers[n]), n
        for p, s in wrapper.optimizer.state.items():
            assert torch.equal(s['momentum_buffer'], momentum[id(p)])
    assert not torch.equal(alphas[0], toy()[0].clip_cell.alpha.float())
    assert torch.equal(alphas[0], alphas[1])


def test_xi_defaults_to_the_weight_lr_of_each_group():
    model, wrapper, _, batches = toy()
    cell = model.clip_cell
    with cell.arch_grad(), frozen_buffers(model):
        by_lr = Unrolled(batches[0],
                         wrapper).hypergradient(model, [cell.alpha],
                                                batches[1])[1][0]
        given = Unrolled(
            batches[0], wrapper, xi=0.1).hypergradient(model, [cell.alpha],
                                                       batches[1])[1][0]
    torch.testing.assert_close(by_lr, given)


@pytest.mark.parametrize('kwargs,message',
                         [(dict(xi=-1.0), 'xi must be a number >= 0'),
                          (dict(xi='lr'), 'xi must be'),
                          (dict(eps=0), 'eps must be a number > 0')])
def test_unrolled_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Unrolled(None, None, **kwargs)
