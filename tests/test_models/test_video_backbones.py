"""Video backbones: shapes for T in {1, 4, 8}; T = 1 is the 2-D backbone bit
for bit; 2-D checkpoints load with only the temporal modules' keys missing;
gradients reach every parameter; insertion is configurable."""
import pytest
import torch
from mmengine.runner import save_checkpoint
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmseg.registry import MODELS

import das_mmseg  # noqa: F401
from das_mmseg.models.backbones import TemporalConv2d
from das_mmseg.models.temporal import GateShiftFuse, TemporalShift

SMALL_RESNET = dict(base_channels=8, stem_channels=8)
# (registry, 2-D type, video type, small 2-D arguments)
BACKBONES = [
    pytest.param(
        MODELS,
        'ResNetV1c',
        'VideoResNetV1c',
        dict(depth=18, **SMALL_RESNET),
        id='mmseg-ResNetV1c-18'),
    pytest.param(
        MODELS,
        'ResNetV1c',
        'VideoResNetV1c',
        dict(depth=50, **SMALL_RESNET),
        id='mmseg-ResNetV1c-50'),
    pytest.param(
        MODELS,
        'ResNetV1c',
        'VideoResNetV1c',
        dict(depth=101, **SMALL_RESNET),
        id='mmseg-ResNetV1c-101'),
    pytest.param(
        MODELS,
        'MobileNetV2',
        'VideoMobileNetV2',
        dict(widen_factor=0.25),
        id='mmseg-MobileNetV2'),
    pytest.param(
        MMPRETRAIN_MODELS,
        'ResNet',
        'VideoResNet',
        dict(depth=18, **SMALL_RESNET, out_indices=(0, 3)),
        id='mmpretrain-ResNet-18'),
    pytest.param(
        MMPRETRAIN_MODELS,
        'ResNet',
        'VideoResNet',
        dict(depth=50, **SMALL_RESNET),
        id='mmpretrain-ResNet-50'),
    pytest.param(
        MMPRETRAIN_MODELS,
        'ResNet_CIFAR',
        'VideoResNet_CIFAR',
        dict(depth=18, **SMALL_RESNET),
        id='mmpretrain-ResNet_CIFAR-18'),
    pytest.param(
        MMPRETRAIN_MODELS,
        'MobileNetV2',
        'VideoMobileNetV2',
        dict(widen_factor=0.25, out_indices=(2, 7)),
        id='mmpretrain-MobileNetV2'),
]
TEMPORAL = [dict(type='GSF'), dict(type='TSM')]
SIZE = 32

# tiny tensors: see conftest.one_thread
pytestmark = pytest.mark.usefixtures('one_thread')


def build_pair(registry, plain_type, video_type, kwargs, temporal,
               num_segments):
    """The 2-D backbone and its video version holding the same 2-D weights."""
    torch.manual_seed(0)
    plain = registry.build(dict(type=plain_type, **kwargs))
    video = registry.build(
        dict(
            type=video_type,
            num_segments=num_segments,
            temporal=temporal,
            **kwargs))
    missing, unexpected = video.load_state_dict(
        plain.state_dict(), strict=False)
    assert not unexpected and all('.temporal.' in k for k in missing)
    return plain, video


@pytest.mark.parametrize('registry, plain_type, video_type, kwargs', BACKBONES)
@pytest.mark.parametrize('temporal', TEMPORAL, ids=lambda c: c['type'])
def test_shapes_for_clips_of_1_4_8_frames_and_exact_2d_at_1(
        registry, plain_type, video_type, kwargs, temporal):
    plain, video = build_pair(
        registry, plain_type, video_type, kwargs, temporal, num_segments=1)
    assert len(video.temporal_modules()) > 0
    frames = torch.randn(8, 3, SIZE, SIZE)
    # eval first: training forwards move the norms' running stats
    for mode in ('eval', 'train'):
        getattr(plain, mode)()
        getattr(video, mode)()
        with torch.no_grad():
            video.num_segments = 1
            expected, same = plain(frames), video(frames)
        assert all(torch.equal(a, b) for a, b in zip(
            same, expected)), f'T = 1 differs from the 2-D net ({mode})'
    for t in (4, 8):
        video.num_segments = t
        assert all(m.num_segments == t for m in video.temporal_modules())
        with torch.no_grad():
            outs = video(frames)
        assert [o.shape for o in outs] == [e.shape for e in expected]
        assert all(torch.isfinite(o).all() for o in outs)
        assert not torch.equal(outs[-1],
                               expected[-1]), f'T = {t} mixes no frames'


@pytest.mark.parametrize('registry, plain_type, video_type, kwargs', BACKBONES)
@pytest.mark.parametrize('temporal', TEMPORAL, ids=lambda c: c['type'])
def test_gradients_are_finite_and_reach_every_parameter(
        registry, plain_type, video_type, kwargs, temporal):
    torch.manual_seed(0)
    video = registry.build(
        dict(type=video_type, num_segments=4, temporal=temporal, **kwargs))
    video.train()
    frames = torch.randn(8, 3, SIZE, SIZE, requires_grad=True)
    sum(o.square().mean() for o in video(frames)).backward()
    assert torch.isfinite(frames.grad).all()
    for name, p in video.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if '.temporal.' in name:
            assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('registry, plain_type, video_type, kwargs', BACKBONES)
def test_2d_checkpoint_loads_with_only_temporal_keys_missing(
        registry, plain_type, video_type, kwargs, tmp_path):
    torch.manual_seed(0)
    plain = registry.build(dict(type=plain_type, **kwargs))
    path = str(tmp_path / 'plain.pth')
    save_checkpoint({'state_dict': plain.state_dict()}, path)
    video = registry.build(
        dict(
            type=video_type,
            init_cfg=dict(type='Pretrained', checkpoint=path),
            **kwargs))
    video.init_weights()
    video_state = video.state_dict()
    temporal_keys = {k for k in video_state if '.temporal.' in k}
    assert temporal_keys and set(video_state) - temporal_keys == set(
        plain.state_dict())
    assert all(
        torch.equal(v, video_state[k]) for k, v in plain.state_dict().items())
    missing, unexpected = video.load_state_dict(
        plain.state_dict(), strict=False)
    # torch's norms do not report a missing num_batches_tracked
    assert set(missing) == {
        k
        for k in temporal_keys if not k.endswith('num_batches_tracked')
    } and not unexpected


def test_default_is_gsf_after_every_resnet_blocks_last_conv_tsm_at_its_input():
    gsf = MODELS.build(dict(type='VideoResNetV1c', depth=50, **SMALL_RESNET))
    blocks = [b for name in gsf.res_layers for b in getattr(gsf, name)]
    assert all(
        isinstance(b.conv3, TemporalConv2d)
        and isinstance(b.conv3.temporal, GateShiftFuse) for b in blocks)
    assert not any(
        isinstance(b.conv1, TemporalConv2d)
        or isinstance(b.conv2, TemporalConv2d) for b in blocks)
    assert all(b.conv3.temporal.channels == b.conv3.out_channels
               for b in blocks)
    tsm = MMPRETRAIN_MODELS.build(
        dict(
            type='VideoResNet',
            depth=18,
            temporal=dict(type='TSM'),
            **SMALL_RESNET))
    blocks = [b for name in tsm.res_layers for b in getattr(tsm, name)]
    assert all(
        isinstance(b.conv1.temporal, TemporalShift)
        and b.conv1.position == 'input' for b in blocks)


def test_stages_interval_and_position_choose_the_sites():
    video = MODELS.build(
        dict(
            type='VideoResNetV1c',
            depth=50,
            temporal=dict(type='TSM', shift_ratio=0.25),
            temporal_stages=(False, True, True, False),
            temporal_interval=2,
            temporal_position='output',
            **SMALL_RESNET))
    sites = {
        name
        for name, m in video.named_modules() if isinstance(m, TemporalConv2d)
    }
    assert sites == {
        'layer2.0.conv3', 'layer2.2.conv3', 'layer3.0.conv3', 'layer3.2.conv3',
        'layer3.4.conv3'
    }
    assert all(m.shift_ratio == 0.25 for m in video.temporal_modules())
    mobilenet = MODELS.build(
        dict(
            type='VideoMobileNetV2',
            widen_factor=0.25,
            temporal=dict(type='TSM'),
            temporal_stages=(False, ) * 6 + (True, )))
    # the last stage has a single block, without identity shortcut
    assert not mobilenet.temporal_modules()
    plain = MODELS.build(
        dict(type='VideoResNetV1c', depth=18, temporal=None, **SMALL_RESNET))
    assert not plain.temporal_modules()


def test_frozen_stages_freeze_their_temporal_modules():
    video = MODELS.build(
        dict(type='VideoResNetV1c', depth=18, frozen_stages=2, **SMALL_RESNET))
    for name, p in video.named_parameters():
        if '.temporal.' in name:
            assert p.requires_grad == (not name.startswith(
                ('layer1.', 'layer2.'))), name


@pytest.mark.parametrize('cfg, error, message', [
    (dict(temporal_stages=(True, True)), ValueError, 'one flag per stage'),
    (dict(temporal_interval=0), ValueError, 'temporal_interval'),
    (dict(temporal_position='middle'), ValueError, 'temporal_position'),
    (dict(temporal=dict(type='NoSuchModule')), KeyError, 'not registered'),
    (dict(num_segments=0), ValueError, 'num_segments'),
])
def test_bad_configs_fail_clearly(cfg, error, message):
    with pytest.raises(error, match=message):
        MODELS.build(
            dict(type='VideoResNetV1c', depth=18, **SMALL_RESNET, **cfg))


def plain_and_checkpointed(depth, **cfg):
    """A small video ResNet and its ``with_cp=True`` twin with the same
    weights, in training mode."""
    cfg = dict(
        type='VideoResNetV1c',
        depth=depth,
        base_channels=16,
        stem_channels=16,
        **cfg)
    torch.manual_seed(0)
    plain = MODELS.build(cfg)
    checkpointed = MODELS.build(dict(cfg, with_cp=True))
    checkpointed.load_state_dict(plain.state_dict())
    plain.train()  # mmseg's ResNet.train returns None
    checkpointed.train()
    return plain, checkpointed


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize(
    'temporal',
    [dict(type='GateShiftFuse', gate_ratio=0.25),
     dict(type='TemporalShift')],
    ids=lambda c: c['type'])
def test_gradient_checkpointing_gives_the_same_gradients(depth, temporal):
    """``with_cp=True`` (mmseg's ResNet blocks recompute their forward,
    temporal modules included, in the backward pass) gives the gradients of
    the plain backbone, to float rounding."""
    plain, checkpointed = plain_and_checkpointed(
        depth, num_segments=4, temporal=temporal)
    x = torch.rand(8, 3, 32, 32)
    grads = []
    for model in (plain, checkpointed):
        sum(out.square().mean() for out in model(x)).backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        # float rounding differs elementwise (summation order): compare norms
        assert (b - a).norm() <= 1e-4 * a.norm() + 1e-7


@pytest.mark.parametrize('depth', [18, 50])
def test_the_alpha_gradient_goes_through_checkpointed_blocks(depth):
    """The α step takes ``torch.autograd.grad(loss, α)``, which mmseg's
    reentrant checkpoint refuses; with ``with_cp=True`` the video backbone's
    blocks checkpoint without reentry, and α's gradient is the plain
    backbone's."""
    from das_mmseg.models import ClipCell
    plain, checkpointed = plain_and_checkpointed(depth, num_segments=3)
    assert checkpointed.with_cp and not any(
        getattr(m, 'with_cp', False)
        for m in checkpointed.modules() if m is not checkpointed)
    cell = ClipCell(num_frames=3, num_nodes=2, magnitude_seed=0).train()
    with torch.no_grad():
        cell.alpha.normal_()
    images = torch.rand(2, 3, 32, 32)
    grads = []
    for backbone in (plain, checkpointed):
        with cell.arch_grad():
            clip = cell(images).flatten(0, 1)
            loss = sum(out.square().mean() for out in backbone(clip))
            grads.append(torch.autograd.grad(loss, [cell.alpha])[0])
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-7)
