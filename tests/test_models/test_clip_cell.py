"""``ClipCell``: shapes, reference frame, gradients, bounds, discretize,
CPU/cell parity, sampled mode, affines."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fixtures import ROOT, SAMPLE
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmseg.registry import MODELS

import das_mmseg  # noqa: F401
from das_mmseg.augment import (FrameLayout, PixelSpace, Policy, PolicyError,
                               build_ops, mix_clip, node_edges, num_edges)
from das_mmseg.datasets.transforms import ImageToVideo
from das_mmseg.models.clip_cells import ClipCell, decode_cell_state

PHOTO = osp.join(SAMPLE, 'img_dir/val')
MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
ALL_CONTINUOUS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate',
                  'shear_x', 'shear_y', 'brightness', 'contrast', 'saturation',
                  'sharpness')


def photo_bgr(index: int = 0, size=(48, 36)) -> np.ndarray:
    name = sorted(os.listdir(PHOTO))[index]
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
def test_gradients_reach_alpha_and_every_learned_magnitude(images, sampling):
    torch.manual_seed(0)
    cell = ClipCell(
        ops=ALL_CONTINUOUS,
        num_frames=4,
        num_nodes=2,
        sampling=sampling,
        learn_magnitudes=True,
        mean=MEAN,
        std=STD).train()
    weight = torch.linspace(-1, 1, 3 * 36 * 48).view(1, 1, 3, 36, 48)
    seen = torch.zeros(len(ALL_CONTINUOUS), dtype=torch.bool)
    # sampled: each step reaches the sampled ops
    for _ in range(1 if sampling == 'mixture' else 30):
        with cell.arch_grad():
            (cell(images[:2]) * weight).sum().backward()
            assert torch.isfinite(
                cell.alpha.grad).all() and cell.alpha.grad.abs().sum() > 0
            grad = cell.magnitude_logit.grad
            assert grad.shape == (5, len(ALL_CONTINUOUS))
            assert torch.isfinite(grad).all()
            seen |= (grad != 0).any(0)
    # identity has no magnitude
    assert seen[1:].all(), [n for n, s in zip(ALL_CONTINUOUS, seen) if not s]


def test_arch_parameters_require_grad_only_inside_arch_grad(images):
    cell = ClipCell()
    assert set(dict(cell.named_parameters())) == {'alpha'}
    assert set(
        cell.state_dict()) == {'alpha', 'magnitude_values', '_extra_state'}
    assert cell.alpha.shape == (14, 5) and cell.alpha.abs().max() < 0.01
    assert cell.magnitudes.shape == (14, 5)
    assert cell.arch_parameters() == [cell.alpha]
    assert cell.magnitude_parameters() == []
    assert not cell.alpha.requires_grad
    # the weight loss gives α nothing
    assert not cell(images[:1]).requires_grad
    with cell.arch_grad():
        assert cell.alpha.requires_grad
        with cell.arch_grad():  # re-entrant
            pass
        assert cell.alpha.requires_grad
        cell(images[:1]).mean().backward()
        assert cell.alpha.grad is not None
    assert not cell.alpha.requires_grad and cell.alpha.grad is None
    torch.testing.assert_close(cell.op_weights(),
                               torch.softmax(cell.alpha, -1))

    learned = ClipCell(learn_magnitudes=True)
    names = dict(learned.named_parameters())
    assert set(names) == {'alpha', 'magnitude_logit'}
    assert learned.magnitude_parameters() == [names['magnitude_logit']]
    assert [id(p) for p in learned.arch_parameters()
            ] == [id(names['alpha']),
                  id(names['magnitude_logit'])]
    assert not any(p.requires_grad for p in learned.arch_parameters())
    with learned.arch_grad():
        assert all(p.requires_grad for p in learned.arch_parameters())
    assert ClipCell(num_nodes=1).alpha.shape == (2, 5)


def test_fixed_magnitudes_are_drawn_per_edge_from_the_paper_ranges_with_a_seed(
):
    torch.manual_seed(0)
    cell = ClipCell(ops=ALL_CONTINUOUS, num_frames=4)
    values = cell.magnitudes
    for k, op in enumerate(cell.ops):
        low, high = op.init_range
        assert ((values[:, k] >= low) & (values[:, k] <= high)).all()
        if op.has_magnitude:  # every edge draws its own
            assert len(set(values[:, k].tolist())) == 14
    # the seed is recorded and replays the draw; None draws a seed from the
    # global generator (seeded by the runner)
    again = ClipCell(
        ops=ALL_CONTINUOUS, num_frames=4, magnitude_seed=cell.magnitude_seed)
    assert torch.equal(again.magnitudes, values)
    torch.manual_seed(0)
    assert ClipCell(
        ops=ALL_CONTINUOUS, num_frames=4).magnitude_seed == cell.magnitude_seed
    assert not torch.equal(
        ClipCell(ops=ALL_CONTINUOUS, magnitude_seed=1).magnitudes, values)
    # fixed: a buffer, no gradient, in the state dict
    assert not values.requires_grad
    assert torch.equal(cell.state_dict()['magnitude_values'], values)
    # given per op: that value on every edge
    given = ClipCell(magnitudes=dict(zoom=1.2, rotate=-5.0)).magnitudes
    assert (given[:, 3] == 1.2).all() and (given[:, 4] == -5.0).all()


def test_learned_magnitudes_start_at_the_drawn_values_and_stay_in_range(
        images):
    fixed = ClipCell(ops=ALL_CONTINUOUS, num_frames=4, magnitude_seed=3)
    cell = ClipCell(
        ops=ALL_CONTINUOUS,
        num_frames=4,
        magnitude_seed=3,
        learn_magnitudes=True,
        mean=MEAN,
        std=STD)
    torch.testing.assert_close(
        cell.magnitudes, fixed.magnitudes, atol=1e-5, rtol=0)
    optimizer = torch.optim.SGD(cell.arch_parameters(), lr=1e4)
    for _ in range(3):
        with cell.arch_grad():
            optimizer.zero_grad()
            (-cell(images[:1]).abs().sum()).backward()
            optimizer.step()
    low, high = cell.magnitude_range.unbind(-1)
    assert torch.isfinite(cell.magnitudes).all()
    assert ((cell.magnitudes >= low) & (cell.magnitudes <= high)).all()
    assert not torch.allclose(cell.magnitudes, fixed.magnitudes)
    with pytest.raises(
            ValueError,
            match=(r"initial magnitude of 'zoom' is 1.4, outside the open "
                   r'range \(0.7, 1.3\)')):
        ClipCell(magnitudes=dict(zoom=1.4), learn_magnitudes=True)
    with pytest.raises(
            ValueError,
            match=r"magnitude of 'zoom' is 2.0, outside its bounds "
            r'\[0.5, 1.5\]'):
        ClipCell(magnitudes=dict(zoom=2.0))


def test_discretize_takes_argmax_per_edge_top2_edges_and_their_magnitudes():
    cell = ClipCell(magnitude_seed=5)
    alpha = torch.zeros(14, 5)
    expected = []
    for node in range(4):
        strengths = torch.randperm(node + 2).float()  # distinct edge strengths
        for s, e in enumerate(node_edges(node)):
            alpha[e, (e * 3 + 1) % 5] = 1 + strengths[s]
        keep = sorted(strengths.argsort(descending=True)[:2].tolist())
        edges = []
        for s in keep:
            e = node_edges(node)[s]
            k = (e * 3 + 1) % 5
            edges.append((s, cell.op_names[k],
                          None if k == 0 else cell.magnitudes[e, k].item()))
        expected.append(tuple(edges))
    with torch.no_grad():
        cell.alpha.copy_(alpha)
    policy = cell.discretize()
    assert policy.nodes == tuple(expected)
    assert (policy.ops == cell.op_names and policy.num_frames == 8
            and policy.ref_frame == 4 and policy.magnitude_seed == 5
            and policy.node_aggregation == 'sum'
            and not policy.learned_magnitudes)


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
        magnitude_seed=0)
    torch.manual_seed(1)
    with torch.no_grad():
        cell.alpha.normal_()
    # make sure the photometric path is exercised: node 3 takes saturation of
    # node 2
    nodes = [list(edges) for edges in cell.discretize().nodes]
    nodes[1] = [(2, 'saturation', 0.2), (0, 'contrast', -0.15)]
    policy = Policy(
        ops=ops, nodes=nodes, num_frames=6, progression=progression)
    cell.set_policy(policy)
    on_device = cell(normalise(bgr))[0]  # (T, 3, H, W)
    out = ImageToVideo(policy.to_dict())(dict(img=bgr.copy()))
    frames = out['img'].reshape(180, 240, 6, 3)  # frame-major, each frame BGR
    on_cpu = torch.cat([normalise(frames[:, :, t]) for t in range(6)])
    diff = (on_device - on_cpu).abs()
    assert diff.max() <= 0.5 / min(STD) + 1e-4, diff.max()
    # the frames do differ
    assert (on_device - on_device[cell.ref_frame]).abs().mean() > 0.05


def test_relaxed_cell_with_one_hot_alpha_renders_its_policy(images):
    """α one-hot on every edge, and the policy that keeps every edge: the same
    clip (one renderer)."""
    cell = ClipCell(
        num_frames=4, num_nodes=2, mean=MEAN, std=STD, edges_per_node=3)
    with torch.no_grad():
        cell.alpha.fill_(-1e4)
        for e in range(5):
            cell.alpha[e, 1 + e % 4] = 1e4  # a warp on every edge
    relaxed = cell(images[:2])
    policy = cell.discretize()
    assert [len(edges) for edges in policy.nodes] == [2, 3]
    cell.set_policy(policy)
    torch.testing.assert_close(cell(images[:2]), relaxed, atol=1e-4, rtol=0)
    assert (relaxed[:, 0] - images[:2]).abs().mean() > 0.1


OPS_ALL = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate', 'brightness',
           'contrast', 'saturation', 'sharpness')
CHAINS = dict(
    geometric=[[(0, 'zoom', 1.1)], [(2, 'shift_x', 0.05)],
               [(3, 'rotate', 7.0), (1, 'shift_y', -0.04)],
               [(4, 'shift_y', -0.04), (2, 'identity', None)]],
    photometric=[[(0, 'brightness', 0.1)], [(2, 'contrast', -0.1)],
                 [(3, 'saturation', 0.2), (0, 'sharpness', 0.2)],
                 [(4, 'sharpness', 0.2), (1, 'zoom', 1.1)]])


@pytest.mark.parametrize('chain', list(CHAINS))
def test_relaxed_one_hot_discrete_and_image_to_video_render_the_same_clip(
        chain):
    """A real photo, a 4-node policy: the relaxed renderer with one-hot
    weights on the kept edges and zero on the others (every edge and node
    rendered), the cell with the policy (only the kept ones), and the
    CPU pipeline step."""
    bgr = photo_bgr(3, size=(120, 90))
    policy = Policy(ops=OPS_ALL, nodes=CHAINS[chain], num_frames=5)
    weights = torch.zeros(num_edges(4), len(OPS_ALL))
    magnitudes = policy.magnitude_matrix()
    for node, edges in enumerate(policy.kept_edges()):
        for source, k, _ in edges:
            weights[node_edges(node)[source], k] = 1
    images = normalise(bgr)
    space = PixelSpace(MEAN, STD)
    relaxed = mix_clip(images, build_ops(OPS_ALL), weights, magnitudes,
                       FrameLayout.build(5), 4, space)
    cell = ClipCell(ops=OPS_ALL, num_frames=5, mean=MEAN, std=STD)
    cell.set_policy(policy)
    discrete = cell(images)
    torch.testing.assert_close(discrete, relaxed, atol=1e-4, rtol=0)
    frames = ImageToVideo(policy)(dict(img=bgr.copy()))['img']
    on_cpu = torch.cat([
        normalise(frames[..., 3 * t:3 * t + 3].copy()) for t in range(5)
    ]).unsqueeze(0)
    # the pipeline rounds to uint8: half a grey level
    assert (on_cpu - discrete).abs().max() <= 0.5 / min(STD) + 1e-4
    # every non-reference frame changed, the reference is the image
    assert torch.equal(discrete[:, 2], images)
    assert all(
        (discrete[:, t] - images).abs().mean() > 0.02 for t in (0, 1, 3, 4))


def test_geometric_ops_apply_in_sequence_along_a_path():
    """A chain zoom → pan → roll renders as three warps in a row, as the
    authors' code: what the zoom cropped stays black."""
    bgr = photo_bgr(2, size=(64, 48))
    policy = Policy(
        ops=OPS_ALL,
        num_frames=3,
        nodes=[[(0, 'zoom', 0.8)], [(2, 'shift_x', 0.1)],
               [(3, 'rotate', 15.0)]])
    image = torch.from_numpy(bgr).permute(2, 0, 1).float().unsqueeze(0)
    clip = ImageToVideo(policy)(
        dict(img=image[0].permute(1, 2, 0).numpy()))['img']

    def warp(x, theta):
        grid = F.affine_grid(
            torch.tensor([theta], dtype=torch.float32),
            list(x.shape),
            align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)

    angle = torch.tensor(15.0).deg2rad()
    cos, sin = angle.cos().item(), angle.sin().item()
    aspect = 48 / 64  # rotation in pixels, thetas in [-1, 1] units
    for t, d in ((0, 1), (2, 1)):
        x = warp(image, [[1 / 0.8, 0, 0], [0, 1 / 0.8, 0]])
        x = warp(x, [[1, 0, -0.2], [0, 1, 0]])
        x = warp(x, [[cos, -sin * aspect, 0], [sin / aspect, cos, 0]])
        frame = torch.from_numpy(clip[..., 3 * t:3 * t + 3]).permute(2, 0, 1)
        torch.testing.assert_close(frame, x[0], atol=1e-3, rtol=0)
    # a zoom out leaves a black border that the pan and roll carry along
    assert (torch.from_numpy(clip[..., :3]) == 0).all(-1).float().mean() > 0.2


def test_path_weights_of_a_relaxed_4_node_cell():
    """A 1-pixel pan per edge on a one-pixel image: the pixel at offset L
    holds the weight of the paths of L ops. Sum: 1/8, 3/8, 3/8, 1/8 (as DARTS
    and the authors); the old mean of version-1 policies weighs short paths
    far more."""
    width = 16
    image = torch.zeros(1, 1, 1, width)
    image[..., 2] = 1
    ops = build_ops(['shift_x'])
    magnitudes = torch.full((num_edges(4), 1), 1 / width)
    layout = FrameLayout.build(2, ref_frame=0)  # frame 1: distance 1

    def path_weights(aggregation):
        clip = mix_clip(
            image,
            ops,
            torch.ones(num_edges(4), 1),
            magnitudes,
            layout,
            4,
            node_aggregation=aggregation)
        return clip[0, 1, 0, 0, 3:7]  # offsets 1..4

    torch.testing.assert_close(
        path_weights('sum'), torch.tensor([0.125, 0.375, 0.375, 0.125]))
    torch.testing.assert_close(
        path_weights('mean'),
        torch.tensor([0.40, 0.43, 0.15, 0.02]),
        atol=0.01,
        rtol=0)


def test_displacement_and_identity_of_a_policy():
    pan = Policy(
        ops=OPS_ALL,
        num_frames=5,
        nodes=[[(0, 'shift_x', 0.1)], [(2, 'identity', None)]])
    # 0.1 of 40 px per frame step
    assert pan.displacement((30, 40)) == pytest.approx([8, 4, 0, 4, 8])
    assert not pan.is_identity()
    # half the paths pan: half the displacement
    half = Policy(
        ops=OPS_ALL,
        num_frames=5,
        nodes=[[(0, 'shift_x', 0.1), (1, 'identity', None)]])
    assert half.displacement((30, 40)) == pytest.approx([4, 2, 0, 2, 4])
    rotation = Policy(ops=OPS_ALL, num_frames=3, nodes=[[(0, 'rotate', 10.0)]])
    moved = rotation.displacement((30, 40))
    assert moved[1] == 0 and moved[0] == moved[2] > 1
    # photometric ops move nothing but are no identity; zero magnitudes and
    # nodes that do not reach the clip are
    bright = Policy(
        ops=OPS_ALL, num_frames=3, nodes=[[(0, 'brightness', 0.1)]])
    assert bright.displacement((30, 40)) == [0, 0, 0]
    assert not bright.is_identity()
    still = Policy(
        ops=OPS_ALL,
        num_frames=5,
        nodes=[[(0, 'shift_x', 0.1)], [(0, 'zoom', 1.0),
                                       (1, 'identity', None)]])
    assert still.is_identity() and still.displacement((30, 40)) == [0] * 5
    assert Policy(ops=OPS_ALL, num_frames=1, nodes=pan.nodes).is_identity()


def test_frame_affines_follow_the_policy(images):
    cell = ClipCell(num_frames=4, mean=MEAN, std=STD, num_nodes=2)
    # the relaxed mixture is no single warp
    assert cell.frame_affines(2, image_size=(36, 48)) is None
    black = ((torch.zeros(3) - torch.tensor(MEAN)) / torch.tensor(STD)).view(
        1, 3, 1, 1)

    def replay(affines):
        """Each frame as one warp of the image, black padding."""
        src = (images[:2] - black).repeat_interleave(4, dim=0)
        grid = F.affine_grid(
            affines.flatten(0, 1), list(src.shape), align_corners=False)
        return (F.grid_sample(src, grid, align_corners=False) + black).view(
            2, 4, 3, 36, 48)

    # whole-pixel pans in sequence are exactly one pan (2 px right, 3 px down
    # per frame step)
    pans = Policy(
        ops=cell.op_names,
        num_frames=4,
        nodes=[[(0, 'shift_x', 2 / 48)], [(2, 'shift_y', 3 / 36)]])
    cell.set_policy(pans)
    clip = cell(images[:2])
    affines = cell.frame_affines(2)
    assert affines.shape == (2, 4, 2, 3)
    torch.testing.assert_close(replay(affines), clip, atol=1e-4, rtol=0)
    # zoom then rotate: the composed warp, up to the blur of two
    # interpolations and the corners the zoom cropped (compared inside)
    chain = Policy(
        ops=cell.op_names,
        num_frames=4,
        nodes=[[(0, 'zoom', 1.2)], [(2, 'rotate', 10.0)]])
    cell.set_policy(chain)
    clip = cell(images[:2])
    inside = (replay(cell.frame_affines(2)) - clip)[..., 9:27, 12:36]
    assert inside.abs().mean() < 0.05, inside.abs().mean()
    cell.set_policy(
        Policy(
            ops=cell.op_names,
            num_frames=4,
            nodes=[[(0, 'zoom', 1.2), (1, 'rotate', 10.0)],
                   [(2, 'rotate', 10.0)]]))
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
    cell.set_policy(None)
    assert cell.policy is None
    with pytest.raises(
            PolicyError,
            match=r"built for the op set \[.*\], not \['identity', 'zoom'\]"):
        ClipCell(ops=('identity', 'zoom'), num_frames=4, policy=policy)
    with pytest.raises(
            PolicyError, match='makes 4-frame clips, not num_frames=8'):
        ClipCell(num_frames=8, policy=policy)


def test_the_policy_and_seed_travel_in_the_state_dict(images):
    torch.manual_seed(0)
    trained = ClipCell(num_frames=4)
    policy = trained.discretize()
    trained.set_policy(policy)
    state = trained.state_dict()
    # a uint8 tensor (mmengine broadcasts every state-dict entry under DDP)
    # of a fixed power-of-two length
    extra = state['_extra_state']
    assert extra.dtype == torch.uint8 and extra.numel() == 4096
    assert decode_cell_state(extra) == dict(
        version=2,
        policy=policy.to_dict(),
        magnitude_seed=trained.magnitude_seed,
        learned_magnitudes=False)
    fresh = ClipCell(num_frames=4)
    assert fresh.policy is None
    fresh.load_state_dict(state)
    assert fresh.policy == policy
    assert fresh.magnitude_seed == trained.magnitude_seed
    assert torch.equal(fresh.magnitudes, trained.magnitudes)
    assert torch.equal(fresh(images[:1]), trained(images[:1]))
    # a relaxed checkpoint stays relaxed, even in a cell that had a policy
    trained.set_policy(None)
    fresh.load_state_dict(trained.state_dict())
    assert fresh.policy is None
    # a policy from the config wins, with a warning
    other = ClipCell(num_frames=4, alpha_std=1.0).discretize()
    assert other != policy
    configured = ClipCell(num_frames=4, policy=other)
    trained.set_policy(policy)
    with pytest.warns(
            UserWarning,
            match=r'config.s policy .* overrides the '
            r'checkpoint.s'):
        configured.load_state_dict(trained.state_dict())
    assert configured.policy == other
    # ... until a policy is set on purpose: then the checkpoint's counts
    configured.set_policy(other)
    configured.load_state_dict(trained.state_dict())
    assert configured.policy == policy


def test_old_checkpoints_load_with_a_warning_that_names_the_policy_option():
    torch.manual_seed(0)
    cell = ClipCell(num_frames=4)
    # before the policy state and per-edge magnitudes: α and (K,) logits
    old = dict(alpha=torch.randn(14, 5), magnitude_logit=torch.zeros(5))
    with pytest.warns(UserWarning) as record:
        cell.load_state_dict(old)
    messages = '\n'.join(str(w.message) for w in record)
    assert 'no policy state' in messages
    assert ('--cfg-options model.clip_cell.policy=<work_dir>/das_policy.json'
            in messages)
    assert 'magnitude_logit has shape (5,)' in messages
    # the per-op midpoints of the old bounds, on every edge
    assert torch.allclose(
        cell.magnitudes,
        torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0]).expand(14, 5))
    assert torch.equal(cell.alpha, old['alpha']) and cell.policy is None
    learned = ClipCell(num_frames=4, learn_magnitudes=True)
    with pytest.warns(UserWarning, match='one learned magnitude per op'):
        learned.load_state_dict(
            dict(old, magnitude_logit=torch.full((5, ), 0.5)), strict=False)
    low, high = learned.magnitude_range.unbind(-1)
    assert ((learned.magnitudes >= low) & (learned.magnitudes <= high)).all()
    # a learned checkpoint into a fixed cell: its values
    learned.set_policy(None)
    cell.load_state_dict(learned.state_dict())
    torch.testing.assert_close(cell.magnitudes, learned.magnitudes)


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
    # one op per edge is rendered ...
    assert active == (weights.detach() != 0).tolist()
    # ... and that is exact: the sampled clip is the full renderer's on the
    # sampled weights
    torch.manual_seed(7)
    sampled = cell(images[:2])
    torch.manual_seed(7)
    weights, _ = cell._edge_weights()
    full = mix_clip(images[:2], cell.ops, weights, cell.magnitudes,
                    cell.layout, cell.num_nodes, cell.space)
    torch.testing.assert_close(sampled, full, atol=1e-5, rtol=0)
    with cell.arch_grad():
        cell(images[:1]).mean().backward()
        assert cell.alpha.grad.abs().sum() > 0


@pytest.mark.parametrize('num_nodes', [1, 3])
def test_gumbel_gradient_is_the_straight_through_estimator_of_the_plain_sum(
        images, num_nodes):
    """In Gumbel mode each edge renders its sampled op, and a node is the
    sum of its edges' paths over a constant path count. The α gradient must
    be the straight-through estimator's of that plain sum: the gradient of
    ``Σ_paths Π(weights on the path) · render(path) / count``, the counts
    not differentiated (they are integers in the forward pass)."""
    from das_mmseg.augment.topology import node_edges
    torch.manual_seed(0)
    cell = ClipCell(
        num_frames=3,
        num_nodes=num_nodes,
        sampling='gumbel',
        mean=MEAN,
        std=STD)
    with torch.no_grad():
        cell.alpha.normal_()
    x = images[:2]
    probe = torch.randn(2, 3, *x.shape[1:])
    probe[:, cell.ref_frame] = 0  # the reference frame is the image itself

    def alpha_grad(clip_fn):
        torch.manual_seed(3)  # the same Gumbel sample
        with cell.arch_grad():
            (clip_fn() * probe).sum().backward()
            grad = cell.alpha.grad.clone()
            cell.alpha.grad = None
        return grad

    def plain_sum():
        weights, active = cell._edge_weights()
        # every path through kept edges: its weight product and its render,
        # each node a sum over its kept edges of (source's paths) x weight
        paths = [[(weights.new_ones(()), [])], [(weights.new_ones(()), [])]]
        for node in range(num_nodes):
            mine = []
            for s, e in enumerate(node_edges(node)):
                k = active[e].index(True)
                for w, chain in paths[s]:
                    mine.append((w * weights[e, k], chain + [(e, k)]))
            paths.append(mine)
        total = 0
        for w, chain in paths[-1]:
            onehot = torch.zeros_like(weights)
            for e, k in chain:
                onehot[e, k] = 1
            with torch.no_grad():  # the path's render: one warp chain
                render = mix_clip(
                    x,
                    cell.ops,
                    onehot,
                    cell.magnitudes,
                    cell.layout,
                    num_nodes,
                    cell.space,
                    active=onehot.bool().tolist())
            # paths add up in pixels (black padding is 0 there)
            total = total + w * cell.space.to_pixels(render.flatten(
                0, 1)).view_as(render)
        total = total / len(paths[-1])
        return cell.space.from_pixels(total.flatten(0, 1)).view_as(total)

    expected = alpha_grad(plain_sum)
    got = alpha_grad(lambda: cell(x))
    assert expected.abs().max() > 0
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-3)


def test_registered_and_bad_config():
    assert isinstance(
        MODELS.build(dict(type='ClipCell', num_frames=2)), ClipCell)
    assert MMPRETRAIN_MODELS.get('ClipCell') is ClipCell
    for bad, match in [
        (dict(ops=('identity', 'teleport')), "'teleport'"),
        (dict(num_frames=0),
         r'num_frames must be an integer in \[1, 1024\], got 0'),
        (dict(ref_frame=9), r'ref_frame must be an integer in \[0, 7\]'),
        (dict(num_nodes=0),
         r'num_nodes must be an integer in \[1, 32\], got 0'),
        (dict(sampling='random'),
         r"sampling must be one of \('mixture', 'gumbel'\)"),
        (dict(padding_mode='wrap'),
         r"padding_mode must be one of \('zeros', 'border', 'reflection'\)"),
        (dict(temperature=0),
         'ClipCell: temperature must be a finite number > 0, got 0'),
        (dict(temperature=float('nan')), 'temperature .* got nan'),
        (dict(alpha_std=-1), 'alpha_std must be a finite number >= 0'),
        (dict(ops='zoom'), "ops must be a list of op names, got 'zoom'"),
        (dict(edges_per_node=0),
         'ClipCell: edges_per_node must be an integer >= 1, got 0'),
        (dict(magnitude_seed=-1), r'magnitude_seed must be an integer in '
         r'\[0, 9223372036854775807\], got -1'),
        (dict(magnitude_seed=1.5), 'magnitude_seed .* got 1.5'),
        (dict(learn_magnitudes='yes'),
         "learn_magnitudes must be True or False, got 'yes'"),
        (dict(node_aggregation='max'),
         r"ClipCell: node_aggregation must be one of \('sum', 'mean'\)"),
        (dict(max_clip_elements=0),
         'max_clip_elements must be an integer >= 1, got 0'),
        (dict(mean=MEAN), 'give both mean and std, or neither'),
        (dict(mean=MEAN, std=(1, 1)), 'mean has 3 channels, std 2'),
        (dict(mean=MEAN, std=(1, 0, 1)),
         r'std must be a non-empty sequence of positive numbers'),
        (dict(mean='abc', std=STD), 'mean must be a non-empty sequence'),
        (dict(channel_order='hsv'), 'channel_order must be one of'),
        (dict(magnitudes=dict(zoom=float('inf'))),
         "magnitude of 'zoom' must be a finite number, got inf"),
        (dict(magnitudes=dict(identity=0.3)),
         "op 'identity' takes no magnitude, got 0.3"),
        (dict(magnitudes=[[0.1] * 5] * 3),
         r'magnitudes must be a dict op name → number or an \(E, K\) = '
         r'\(14, 5\) nested sequence'),
    ]:
        with pytest.raises((ValueError, KeyError), match=match):
            ClipCell(**bad)


def test_forward_refuses_bad_images_and_absurd_clips(images):
    cell = ClipCell(num_frames=4, mean=MEAN, std=STD, max_clip_elements=10**6)
    for bad, error, match in [
        (images[:1, :2], ValueError,
         r'ClipCell.forward: images have 2 channels, expected 3 \(the length '
         r'of mean/std\)'),
        (images[:1, ..., :0], ValueError, r'have an empty dimension'),
        (images[0], ValueError, r'images must be 4-D'),
        ((images[:1] * 50).byte(), TypeError, r'must be floating point'),
    ]:
        with pytest.raises(error, match=match):
            cell(bad)
    # 4 x 4 x 3 x 300 x 300 = 4.3M elements > 1M: refused, nothing allocated
    huge = images[:1, :, :1, :1].expand(4, 3, 300, 300)
    with pytest.raises(
            ValueError,
            match=(r'ClipCell.forward: a clip of shape \(4, 4, 3, 300, 300\) '
                   r'\(N, T, C, H, W\) has 4,320,000 elements, more than the '
                   r'limit of 1,000,000 \(max_clip_elements\)')):
        cell(huge)


def test_damaged_checkpoint_state_is_refused():
    cell = ClipCell(num_frames=4)
    state = cell.state_dict()
    state['magnitude_values'][3, 1] = float('nan')
    with pytest.raises(ValueError, match=r'magnitude_values holds non-finite'):
        ClipCell(num_frames=4).load_state_dict(state)
    with pytest.raises(ValueError, match='must hold a "policy" entry'):
        cell.set_extra_state('rotate')
    with pytest.raises(ValueError, match='not the JSON of a cell state'):
        cell.set_extra_state(torch.tensor([0x7b, 0xff], dtype=torch.uint8))
    other = ClipCell(num_frames=8).discretize().to_dict()
    with pytest.raises(
            PolicyError,
            match=r"checkpoint's clip cell policy does not fit this cell: .*"
            r'makes 8-frame clips, not num_frames=4'):
        cell.set_extra_state(dict(policy=other))


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
    image = osp.join(PHOTO, sorted(os.listdir(PHOTO))[0])
    for source in (['--policy', str(tmp_path / 'policy.json')],
                   ['--checkpoint', str(tmp_path / 'ckpt.pth')]):
        out = tmp_path / f'{source[0][2:]}.png'
        tool.main([image, *source, '--num-frames', '4', '--out', str(out)])
        png = mmcv.imread(str(out))
        assert png.shape[1] > 2 * png.shape[0]  # 4 frames in a row
