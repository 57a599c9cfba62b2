"""Temporal modules: TSM's shift against a hand-built expectation, GSF's
gate/shift/fuse in its limiting cases, exact pass-through at T = 1, locality
across frames and clips, gradients, registration and clear errors."""
import pytest
import torch
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmseg.registry import MODELS

import das_mmseg  # noqa: F401
from das_mmseg.models.temporal import (GateShiftFuse, TemporalShift,
                                       temporal_shift)

# tiny tensors: see conftest.one_thread
pytestmark = pytest.mark.usefixtures('one_thread')


def labelled_clips(n: int,
                   t: int,
                   c: int,
                   h: int = 2,
                   w: int = 3) -> torch.Tensor:
    """(N * T, C, H, W) features whose every value names its clip, frame,
    channel and pixel (all non-zero)."""
    idx = torch.arange(n * t * c * h * w, dtype=torch.float32) + 1
    return idx.view(n * t, c, h, w)


def test_tsm_matches_hand_built_shift():
    n, t, c = 2, 4, 16
    x = labelled_clips(n, t, c)
    out = TemporalShift(num_segments=t, shift_ratio=1 / 8)(x)
    fold = c // 8
    expected = torch.zeros_like(x)
    for clip in range(n):
        for frame in range(t):
            row = clip * t + frame
            for ch in range(c):
                if ch < fold:  # taken from the next frame
                    src = frame + 1
                elif ch < 2 * fold:  # taken from the previous frame
                    src = frame - 1
                else:
                    src = frame
                if 0 <= src < t:
                    expected[row, ch] = x[clip * t + src, ch]
    assert torch.equal(out, expected)


def test_tsm_shift_ratio_and_gradient_is_the_opposite_shift():
    x = labelled_clips(1, 3, 8)
    out = TemporalShift(num_segments=3, shift_ratio=0.25)(x)
    assert torch.equal(out[:, 4:], x[:, 4:])
    assert torch.equal(out[0, :2], x[1, :2]) and torch.equal(
        out[2, 2:4], x[1, 2:4])
    clips = torch.randn(2, 5, 6, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: temporal_shift(a, 2), (clips, ))
    assert torch.autograd.gradgradcheck(lambda a: temporal_shift(a, 2),
                                        (clips, ))


def test_shift_leaves_its_input_untouched():
    x = torch.randn(8, 16, 3, 3, requires_grad=True)
    before = x.detach().clone()
    (TemporalShift(num_segments=4)(x) * 2).sum().backward()
    GateShiftFuse(16, num_segments=4)(x).sum().backward()
    assert torch.equal(x.detach(), before)


@pytest.mark.parametrize(
    'module',
    [TemporalShift(num_segments=1),
     GateShiftFuse(16, num_segments=1)])
def test_single_frame_passes_through_exactly(module):
    x = torch.randn(3, 16, 4, 4)
    assert module(x) is x


def gsf_with_constant_gate_and_fusion(channels: int, t: int, gate: float,
                                      fusion: float) -> GateShiftFuse:
    """A GSF whose gate is tanh(gate) and fusion weight sigmoid(fusion)
    everywhere (zero conv weights)."""
    module = GateShiftFuse(channels, num_segments=t)
    with torch.no_grad():
        for conv, bias in ((module.gate_conv, gate), (module.fuse_conv,
                                                      fusion)):
            conv.weight.zero_()
            conv.bias.fill_(bias)
    return module.eval()


def test_gsf_open_gate_and_full_fusion_is_a_shift_of_the_gated_channels():
    c, t = 16, 4
    x = labelled_clips(2, t, c)
    # tanh = sigmoid = 1.0 in float32
    out = gsf_with_constant_gate_and_fusion(c, t, gate=20.0, fusion=40.0)(x)
    g = 4  # 25 % of 16
    expected = x.clone()
    expected[:, :g] = temporal_shift(x[:, :g].reshape(2, t, g, 2, 3),
                                     g // 2).reshape(2 * t, g, 2, 3)
    assert torch.equal(out, expected)


def test_gsf_fuses_shifted_gated_part_and_residual_with_the_fusion_weight():
    c, t = 16, 4
    x = torch.randn(2 * t, c, 5, 5)
    # y = 0, r = x, w = 1/2
    closed = gsf_with_constant_gate_and_fusion(c, t, gate=0.0, fusion=0.0)(x)
    assert torch.allclose(closed[:, :4], 0.5 * x[:, :4]) and torch.equal(
        closed[:, 4:], x[:, 4:])
    # w = 0: only r = (1 - gate) x
    unfused = gsf_with_constant_gate_and_fusion(
        c, t, gate=0.5, fusion=-40.0)(
            x)
    assert torch.allclose(
        unfused[:, :4], (1 - torch.tanh(torch.tensor(0.5))) * x[:, :4],
        atol=1e-6)


def test_gsf_mixes_neighbouring_frames_of_one_clip_only():
    torch.manual_seed(0)
    c, t = 16, 8
    module = GateShiftFuse(c, num_segments=t).eval()
    x = torch.randn(2 * t, c, 6, 6)
    poked = x.clone()
    poked[0] += torch.randn_like(poked[0])  # frame 0 of clip 0
    diff = (module(poked) - module(x)).abs().flatten(2).amax(-1)  # (N*T, C)
    # nearby frames see it through the gated channels
    assert diff[1:4, :4].amax() > 0
    assert diff[1:, 4:].amax() == 0  # the other channels stay per frame
    # receptive field: gate conv (t +- 1), shift (+- 1), fusion conv over
    # frames (+- 1)
    assert diff[4:].amax() == 0


def test_gsf_gradients_reach_every_parameter_and_the_input():
    torch.manual_seed(0)
    module = GateShiftFuse(24, num_segments=4, gate_ratio=0.5)
    x = torch.randn(8, 24, 5, 5, requires_grad=True)
    module(x).square().mean().backward()
    assert torch.isfinite(x.grad).all()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(
            p.grad).all() and p.grad.abs().sum() > 0, name


def test_registered_in_mmseg_and_mmpretrain_and_rebuildable():
    for registry in (MODELS, MMPRETRAIN_MODELS):
        assert isinstance(
            registry.build(dict(type='TSM', num_segments=4)), TemporalShift)
        gsf = registry.build(
            dict(type='GSF', channels=32, num_segments=4, gate_ratio=0.5))
        assert isinstance(gsf, GateShiftFuse) and gsf.gated_channels == 16


def test_num_segments_settable_at_run_time():
    module = GateShiftFuse(16, num_segments=4)
    x = torch.randn(6, 16, 3, 3)
    module.num_segments = 3
    assert module(x).shape == x.shape
    module.num_segments = 1
    assert module(x) is x


@pytest.mark.parametrize('build, message', [
    (lambda: TemporalShift(shift_ratio=0.6), 'shift_ratio'),
    (lambda: TemporalShift(channels=4, shift_ratio=0.125),
     'shifts no channel'),
    (lambda: GateShiftFuse(4, gate_ratio=0.25), 'fewer than 2'),
    (lambda: GateShiftFuse(16, gate_ratio=0.0), 'gate_ratio'),
    (lambda: TemporalShift(num_segments=0), 'num_segments'),
])
def test_bad_arguments_fail_clearly(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_batch_not_a_whole_number_of_clips_fails_clearly():
    with pytest.raises(ValueError, match='not a whole number of clips'):
        TemporalShift(num_segments=4)(torch.randn(6, 16, 2, 2))


def test_gsf_gate_logits_are_its_3d_conv_on_the_clips():
    torch.manual_seed(0)
    n, t, g, h, w = 2, 5, 12, 6, 7
    module = GateShiftFuse(g, num_segments=t, gate_ratio=1.0)
    torch.nn.init.normal_(module.gate_conv.bias)
    frames = torch.randn(n * t, g, h, w)
    clips = frames.view(n, t, g, h, w).transpose(1, 2)
    expected = module.gate_conv(clips).transpose(1, 2)
    assert torch.allclose(module.gate_logits(frames, n), expected, atol=1e-5)
