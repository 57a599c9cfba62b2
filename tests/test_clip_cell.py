"""``ClipCell``: shapes, reference frame, gradients, bounds, discretize,
CPU/cell parity, sampled mode, affines."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmseg.registry import MODELS

import das_mmseg  # noqa: F401
from das_mmseg.augment import Policy, PolicyError, node_edges
from das_mmseg.datasets.transforms import ImageToVideo
from das_mmseg.models.clip_cell import ClipCell

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PHOTO = osp.join(ROOT, 'data/camvid_sample/img_dir/val')
MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
ALL_CONTINUOUS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate',
                  'shear_x', 'shear_y', 'brightness', 'contrast', 'saturation',
                  'sharpness')


def photo_bgr(index: int = 0, size=(48, 36)) -> np.ndarray:
    name = sorted(f for f in __import__('os').listdir(PHOTO))[index]
    return mmcv.imresize(mmcv.imread(osp.join(PHOTO, name)), size)


def normalise(bgr: np.ndarray) -> torch.Tensor:
    """(H, W, 3) BGR uint8 → (1, 3, H, W) RGB normalised, as the data
    preprocessor does."""
    rgb = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(
        2, 0, 1).float()
    return ((rgb - torch.tensor(MEAN).view(3, 1, 1)) /
            torch.tensor(STD).view(3, 1, 1)).unsqueeze(0)


@pytest.fixture(scope='module')
def images():
    return torch.cat([normalise(photo_bgr(i)) for i in range(3)])


@pytest.mark.parametrize('num_frames', [1, 4, 8])
@pytest.mark.parametrize('batch', [1, 3])
def test_shapes_and_reference_frame(images, num_frames, batch):
    cell = ClipCell(num_frames=num_frames, mean=MEAN, std=STD)
    x = images[:batch]
    clip = cell(x)
    assert clip.shape == (batch, num_frames, 3, 36, 48)
    assert cell.ref_frame == num_frames // 2
    assert torch.equal(clip[:, cell.ref_frame], x)
    others = [t for t in range(num_frames) if t != cell.ref_frame]
    assert all((clip[:, t] - x).abs().mean() > 1e-2 for t in others)


@pytest.mark.parametrize('sampling', ['mixture', 'gumbel'])
def test_gradients_reach_alpha_and_every_continuous_magnitude(
        images, sampling):
    torch.manual_seed(0)
    cell = ClipCell(
        ops=ALL_CONTINUOUS,
        num_frames=4,
        num_nodes=2,
        sampling=sampling,
        mean=MEAN,
        std=STD).train()
    weight = torch.linspace(-1, 1, 3 * 36 * 48).view(1, 1, 3, 36, 48)
    seen = torch.zeros(len(ALL_CONTINUOUS), dtype=torch.bool)
    # sampled: each step reaches the sampled ops
    for _ in range(1 if sampling == 'mixture' else 30):
        cell.zero_grad()
        (cell(images[:2]) * weight).sum().backward()
        assert torch.isfinite(
            cell.alpha.grad).all() and cell.alpha.grad.abs().sum() > 0
        assert torch.isfinite(cell.magnitude_logit.grad).all()
        seen |= cell.magnitude_logit.grad != 0
    # identity has no magnitude
    assert seen[1:].all(), [n for n, s in zip(ALL_CONTINUOUS, seen) if not s]


def test_arch_parameters_and_names():
    cell = ClipCell()
    names = dict(cell.named_parameters())
    assert set(names) == {'alpha', 'magnitude_logit'}
    assert cell.alpha.shape == (14, 5) and cell.alpha.abs().max() < 0.01
    assert [id(p) for p in cell.arch_parameters()
            ] == [id(names['alpha']),
                  id(names['magnitude_logit'])]
    assert ClipCell(num_nodes=1).alpha.shape == (2, 5)


def test_magnitudes_start_in_the_paper_ranges_and_stay_in_bounds(images):
    torch.manual_seed(0)
    cell = ClipCell(
        ops=ALL_CONTINUOUS, num_frames=4, num_nodes=1, mean=MEAN, std=STD)
    for value, op in zip(cell.magnitudes.tolist(), cell.ops):
        assert op.init_range[0] <= value <= op.init_range[1]
    optimizer = torch.optim.SGD(cell.arch_parameters(), lr=1e4)
    for _ in range(3):
        optimizer.zero_grad()
        (-cell(images[:1]).abs().sum()).backward()
        optimizer.step()
    low, high = cell.magnitude_bounds.unbind(-1)
    assert ((cell.magnitudes >= low) & (cell.magnitudes <= high)).all()
    assert torch.isfinite(cell.magnitudes).all()
    with pytest.raises(
            ValueError,
            match=(
                r"initial magnitude of 'zoom' is 2.0, outside its open bounds "
                r'\(0.5, 1.5\)')):
        ClipCell(magnitudes=dict(zoom=2.0))


def test_discretize_takes_argmax_per_edge_and_top2_edges_per_node():
    cell = ClipCell(
        magnitudes=dict(shift_x=0.1, shift_y=-0.05, zoom=1.2, rotate=15.0))
    alpha = torch.zeros(14, 5)
    expected = []
    for node in range(4):
        strengths = torch.randperm(node + 2).float()  # distinct edge strengths
        for s, e in enumerate(node_edges(node)):
            alpha[e, (e * 3 + 1) % 5] = 1 + strengths[s]
        keep = sorted(strengths.argsort(descending=True)[:2].tolist())
        expected.append(
            tuple((s, cell.op_names[(node_edges(node)[s] * 3 + 1) % 5])
                  for s in keep))
    with torch.no_grad():
        cell.alpha.copy_(alpha)
    policy = cell.discretize()
    assert policy.nodes == tuple(expected)
    assert (policy.ops == cell.op_names and policy.num_frames == 8
            and policy.ref_frame == 4)
    used = {op for edges in expected for _, op in edges} - {'identity'}
    assert set(policy.magnitudes) == used
    for name in used:
        assert policy.magnitudes[name] == pytest.approx(
            dict(shift_x=0.1, shift_y=-0.05, zoom=1.2, rotate=15.0)[name],
            abs=1e-5)


@pytest.mark.parametrize('progression', ['symmetric', 'signed'])
def test_discrete_cell_matches_image_to_video_on_a_real_photo(progression):
    # Tolerance: half a grey level (the pipeline rounds to uint8), i.e. 0.5
    # / min(std) + 1e-4 in normalised units.
    bgr = photo_bgr(5, size=(240, 180))
    ops = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate', 'saturation',
           'contrast')
    cell = ClipCell(
        ops=ops,
        num_frames=6,
        progression=progression,
        mean=MEAN,
        std=STD,
        channel_order='rgb',
        magnitudes=dict(
            shift_x=0.05,
            shift_y=-0.04,
            zoom=1.1,
            rotate=7.0,
            saturation=0.2,
            contrast=-0.15))
    torch.manual_seed(1)
    with torch.no_grad():
        cell.alpha.normal_()
    policy = cell.discretize()
    # make sure the photometric path is exercised: node 3 takes saturation of
    # node 2
    nodes = [list(edges) for edges in policy.nodes]
    nodes[1] = [(2, 'saturation'), (0, 'contrast')]
    policy = Policy.from_dict(
        dict(
            policy.to_dict(),
            nodes=[[dict(source=s, op=o) for s, o in e] for e in nodes],
            magnitudes=dict(
                cell.discretize().magnitudes, saturation=0.2, contrast=-0.15)))
    cell.set_policy(policy)
    on_device = cell(normalise(bgr))[0]  # (T, 3, H, W)
    out = ImageToVideo(policy.to_dict())(dict(img=bgr.copy()))
    frames = out['img'].reshape(180, 240, 6, 3)  # frame-major, each frame BGR
    on_cpu = torch.cat([normalise(frames[:, :, t]) for t in range(6)])
    diff = (on_device - on_cpu).abs()
    assert diff.max() <= 0.5 / min(STD) + 1e-4, diff.max()
    # the frames do differ
    assert (on_device - on_device[cell.ref_frame]).abs().mean() > 0.05


def test_relaxed_cell_with_one_hot_alpha_approaches_the_policy(images):
    cell = ClipCell(
        num_frames=4,
        num_nodes=2,
        mean=MEAN,
        std=STD,
        magnitudes=dict(shift_x=0.05, shift_y=0.05, zoom=1.1, rotate=5.0))
    with torch.no_grad():
        cell.alpha.fill_(-1e4)
        cell.alpha[:, 1] = 1e4  # shift_x everywhere
    relaxed = cell(images[:1])
    cell.set_policy(
        Policy(
            ops=cell.op_names,
            num_frames=4,
            magnitudes=dict(shift_x=0.05),
            nodes=[[(0, 'shift_x'), (1, 'shift_x')],
                   [(0, 'shift_x'), (1, 'shift_x'), (2, 'shift_x')]]))
    discrete = cell(images[:1])
    # the same clip, up to the blur of repeated interpolation in the relaxed
    # cell (one warp per path in the policy)
    assert (relaxed - discrete).abs().mean() < 0.05


def test_frame_affines_follow_the_policy(images):
    cell = ClipCell(num_frames=4, mean=MEAN, std=STD, num_nodes=2)
    # the relaxed mixture is no single warp
    assert cell.frame_affines(2, image_size=(36, 48)) is None
    chain = Policy(
        ops=cell.op_names,
        num_frames=4,
        magnitudes=dict(zoom=1.2, rotate=10.0),
        nodes=[[(0, 'zoom')], [(2, 'rotate')]])
    cell.set_policy(chain)
    clip = cell(images[:2])
    affines = cell.frame_affines(2)
    assert affines.shape == (2, 4, 2, 3)
    black = ((torch.zeros(3) - torch.tensor(MEAN)) / torch.tensor(STD)).view(
        1, 3, 1, 1)
    # warp with black padding
    src = (images[:2] - black).repeat_interleave(4, dim=0)
    grid = F.affine_grid(
        affines.flatten(0, 1), list(src.shape), align_corners=False)
    replay = (F.grid_sample(src, grid, align_corners=False) + black).view(
        2, 4, 3, 36, 48)
    assert torch.allclose(replay, clip, atol=1e-4)
    cell.set_policy(
        Policy(
            ops=cell.op_names,
            num_frames=4,
            magnitudes=dict(zoom=1.2, rotate=10.0),
            nodes=[[(0, 'zoom'), (1, 'rotate')], [(2, 'rotate')]]))
    assert cell.frame_affines(2) is None


def test_set_policy_accepts_dict_and_path_and_rejects_other_cells(
        tmp_path, images):
    cell = ClipCell(num_frames=4)
    policy = ClipCell(num_frames=4).discretize()
    path = str(tmp_path / 'policy.json')
    policy.save(path)
    for given in (policy, policy.to_dict(), path):
        cell.set_policy(given)
        assert cell.policy == policy
    assert torch.equal(
        cell(images[:1]),
        ClipCell(num_frames=4, policy=path)(images[:1]))
    assert not any(p.requires_grad for p in cell.arch_parameters())
    cell.set_policy(None)
    assert cell.policy is None and all(p.requires_grad
                                       for p in cell.arch_parameters())
    with pytest.raises(
            PolicyError,
            match=r"built for the op set \[.*\], not \['identity', 'zoom'\]"):
        ClipCell(ops=('identity', 'zoom'), num_frames=4, policy=policy)
    with pytest.raises(
            PolicyError, match='makes 4-frame clips, not num_frames=8'):
        ClipCell(num_frames=8, policy=policy)


def test_gumbel_mode_renders_one_op_per_edge_in_training_and_mixture_in_eval(
        images):
    torch.manual_seed(0)
    cell = ClipCell(num_frames=4, sampling='gumbel', mean=MEAN, std=STD)
    mixture = ClipCell(num_frames=4, mean=MEAN, std=STD)
    mixture.load_state_dict(cell.state_dict())
    cell.eval()
    assert torch.allclose(cell(images[:1]), mixture(images[:1]))
    cell.train()
    weights, active = cell._edge_weights()
    assert torch.equal(weights.detach().round(),
                       weights.detach().round().abs())
    assert (weights.detach().sum(-1) - 1).abs().max() < 1e-5 and (
        weights.detach() != 0).sum(-1).eq(1).all()
    assert all(
        sum(row) <= len(list(node_edges(n))) for n, row in enumerate(active))


def test_registered_and_bad_config():
    assert isinstance(
        MODELS.build(dict(type='ClipCell', num_frames=2)), ClipCell)
    assert MMPRETRAIN_MODELS.get('ClipCell') is ClipCell
    for bad, match in [
        (dict(ops=('identity', 'teleport')), "'teleport'"),
        (dict(num_frames=0), 'num_frames must be an integer >= 1, got 0'),
        (dict(ref_frame=9), r'ref_frame must be an integer in \[0, 7\]'),
        (dict(num_nodes=0), 'num_nodes must be an integer >= 1, got 0'),
        (dict(sampling='random'),
         r"sampling must be one of \('mixture', 'gumbel'\)"),
        (dict(padding_mode='wrap'),
         r"padding_mode must be one of \('zeros', 'border', 'reflection'\)"),
        (dict(temperature=0), 'temperature must be > 0')
    ]:
        with pytest.raises((ValueError, KeyError), match=match):
            ClipCell(**bad)


@pytest.mark.slow
def test_visualize_clip_tool(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'visualize_clip', osp.join(ROOT, 'tools/visualize_clip.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    torch.manual_seed(0)
    cell = ClipCell(num_frames=4)
    cell.discretize().save(str(tmp_path / 'policy.json'))
    torch.save(
        {
            'state_dict': {
                f'clip_cell.{k}': v
                for k, v in cell.state_dict().items()
            }
        }, tmp_path / 'ckpt.pth')
    image = osp.join(PHOTO, sorted(__import__('os').listdir(PHOTO))[0])
    for source in (['--policy', str(tmp_path / 'policy.json')],
                   ['--checkpoint', str(tmp_path / 'ckpt.pth')]):
        out = tmp_path / f'{source[0][2:]}.png'
        tool.main([image, *source, '--num-frames', '4', '--out', str(out)])
        png = mmcv.imread(str(out))
        assert png.shape[1] > 2 * png.shape[0]  # 4 frames in a row
