"""Device and dtype discipline on the CPU (issue 20.1): what the package
makes follows its input's device and dtype. float64 runs give float64
results equal to float32 within rounding; under ``torch.autocast('cpu',
dtype=torch.bfloat16)`` the results are finite and close to float32; on the
``meta`` device (no data) the cell and the fusions run, so no host value is
read on their path except the listed ones (README, "Device and dtype
discipline")."""
import copy

import pytest
import torch
from fixtures import (build, cell_cfg, losses_of, segmentor_cfg, shift_policy,
                      toy)

from das_mmseg.augment import Policy, render_policy
from das_mmseg.models import ClipCell
from das_mmseg.models.fusion import average_frames, fuse_aligned

BF16 = dict(device_type='cpu', dtype=torch.bfloat16)


def relaxed_cell(sampling='mixture', policy=None):
    torch.manual_seed(0)
    cell = ClipCell(
        num_frames=4,
        num_nodes=3,
        sampling=sampling,
        magnitude_seed=1,
        policy=policy).train()
    with torch.no_grad():
        cell.alpha.normal_()
    return cell


@pytest.mark.parametrize('sampling', ['mixture', 'gumbel', 'policy'])
def test_the_cell_follows_float64_and_stays_close_under_bf16(sampling):
    policy = None
    if sampling == 'policy':
        policy = relaxed_cell().discretize()
        sampling = 'mixture'
    cell = relaxed_cell(sampling, policy)
    images = torch.rand(2, 3, 24, 32)
    torch.manual_seed(5)
    reference = cell(images)
    double = copy.deepcopy(cell).double()
    torch.manual_seed(5)
    clip = double(images.double())
    assert clip.dtype == torch.float64
    torch.testing.assert_close(clip.float(), reference, atol=1e-5, rtol=0)
    with torch.autocast(**BF16):
        torch.manual_seed(5)
        low = cell(images)
    assert torch.isfinite(low).all()
    torch.testing.assert_close(low.float(), reference, atol=2e-2, rtol=0)


def test_softmax_of_alpha_and_the_grids_stay_float32_under_autocast():
    cell = relaxed_cell()
    with torch.autocast(**BF16):
        weights = cell.op_weights()
        clip = cell(torch.rand(1, 3, 16, 16))
    # the α softmax and the warps (affine grids, grid_sample coordinates)
    # are float32 on the way: the clip comes out float32
    assert weights.dtype == torch.float32 and clip.dtype == torch.float32


@pytest.mark.parametrize('sampling', ['mixture', 'policy'])
def test_the_cell_runs_on_the_meta_device(sampling):
    """No data is read on the cell's path (a Gumbel sample is: which op each
    edge renders is decided on the host, see the README list)."""
    policy = relaxed_cell().discretize() if sampling == 'policy' else None
    cell = relaxed_cell(policy=policy).to('meta')
    clip = cell(torch.empty(2, 3, 24, 32, device='meta'))
    assert clip.device.type == 'meta' and clip.shape == (2, 4, 3, 24, 32)
    maps = cell.render_maps(torch.empty(2, 11, 24, 32, device='meta'))
    assert maps.device.type == 'meta' and maps.shape == (2, 4, 11, 24, 32)


def test_policy_rendering_follows_float64():
    policy = Policy(
        ops=('identity', 'shift_x', 'zoom'),
        nodes=[[(0, 'shift_x', 0.05), (1, 'zoom', 1.1)]],
        num_frames=3)
    images = torch.rand(1, 3, 20, 20)
    single = render_policy(images, policy)
    double = render_policy(images.double(), policy)
    assert double.dtype == torch.float64
    torch.testing.assert_close(double.float(), single, atol=1e-5, rtol=0)


def test_fusions_follow_dtype_and_device():
    logits = torch.randn(2, 3, 5, 16, 16, dtype=torch.float64)
    affines = torch.eye(2, 3, dtype=torch.float64).repeat(2, 3, 1, 1)
    affines[:, 0, 0, 2] = 0.25  # frame 0 panned
    fused = fuse_aligned(logits, affines)
    assert fused.dtype == torch.float64 and fused.shape == (2, 5, 16, 16)
    torch.testing.assert_close(
        fuse_aligned(logits.float(), affines.float()),
        fused.float(),
        atol=1e-5,
        rtol=0)
    assert average_frames(logits.flatten(0, 1).bfloat16(),
                          3).dtype == torch.bfloat16
    meta = average_frames(torch.empty(6, 5, 4, 4, device='meta'), 3)
    assert meta.device.type == 'meta' and meta.shape == (2, 5, 4, 4)


@pytest.mark.parametrize('fusion', ['logits', 'aligned', 'reference'])
def test_the_segmentor_trains_in_float64_and_under_bf16_autocast(
        batch, fusion):  # noqa: F811
    policy = shift_policy(3) if fusion == 'aligned' else None
    model = build(
        segmentor_cfg(
            fusion=fusion, video=True, clip_cell=cell_cfg(3, policy))).train()
    reference = losses_of(model, batch)['decode.loss_ce']
    double = copy.deepcopy(model).double()
    data = copy.deepcopy(batch)
    processed = double.data_preprocessor(data, training=True)
    loss = double.loss(processed['inputs'].double(),
                       processed['data_samples'])['decode.loss_ce']
    assert loss.dtype == torch.float64
    assert float(loss) == pytest.approx(float(reference), rel=1e-4)
    with torch.autocast(**BF16):
        low = losses_of(model, batch)['decode.loss_ce']
    assert torch.isfinite(low)
    assert float(low) == pytest.approx(float(reference), rel=5e-2)


def test_arch_step_runs_in_full_precision_under_autocast():
    """An α step taken inside an autocast region computes as without it:
    the same α after the step."""
    from das_mmseg.engine import arch_step
    alphas = []
    for autocast in (False, True):
        model, _, policy, batches = toy(dtype=torch.float32)
        if autocast:
            with torch.autocast(**BF16):
                arch_step(model, policy, batches[1], 0)
        else:
            arch_step(model, policy, batches[1], 0)
        alphas.append(model.clip_cell.alpha.detach().clone())
    assert alphas[0].dtype == alphas[1].dtype == torch.float32
    torch.testing.assert_close(alphas[1], alphas[0])
