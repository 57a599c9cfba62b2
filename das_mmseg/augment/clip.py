"""Clips from images: frame layout, affine warps, and the renderer of a DARTS
clip cell.

The cell has two input nodes (both the image repeated over the frames) and
``num_nodes`` intermediate nodes; node ``j`` takes an edge from every earlier
node and each edge applies its ops, each with the per-step magnitude it has on
that edge, to the whole clip. Edges are numbered node by node, sources in
order: node 0 has edges 0-1 (from the inputs), node 1 edges 2-4, ...

Node aggregation is DARTS's and the authors' *sum*: node ``j`` is
``Σ_e Σ_k w_ek · op_ek(node_source(e))`` and the clip is the last node divided
by its total path weight, its *mass* (input nodes 1; node ``j``
``Σ_e (Σ_k w_ek) · mass(source(e))``). A relaxed 4-node cell (Σ_k w_ek = 1)
then weighs its paths of 1, 2, 3, 4 ops by 0.125, 0.375, 0.375, 0.125, and a
discrete policy gives every path from the image to the output the same weight.
The renderer carries every node in its normalised form ``node / mass`` with its
mass, so nodes stay in image range and photometric ops see image-range pixels;
for warps, which are linear, that *is* sum-then-normalise. (``'mean'`` divides
each node by its own edge weights instead: the semantics of version-1 policies,
kept only to read them.)

Geometric ops are applied in sequence along a path, as the authors' code does:
content an earlier warp moved out of the frame stays black (with zero
padding). :func:`mix_clip` renders the relaxed cell; :func:`render_policy`
renders a discrete policy as :func:`mix_clip` with one-hot weights on its kept
edges and zero weights elsewhere, so search and training see the same clip,
and the CPU pipeline step (``ImageToVideo``) calls the same code.

Rendering works in pixel space (so zero padding is black, whatever the
normalisation), skips the reference frame (every op is the identity at distance
0, so it *is* the input) and, under the symmetric progression, renders each
distance once (frames ``ref ± d`` are equal).
"""
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils.validators import check_choice, check_int
from .ops import (AugmentOp, GeometricOp, Identity, PhotometricOp, PixelSpace,
                  check_finite_magnitudes, check_image_size, check_images)

PROGRESSIONS = ('symmetric', 'signed')
PADDING_MODES = ('zeros', 'border', 'reflection')
NODE_AGGREGATIONS = ('sum', 'mean')
# Limits that refuse an absurd clip before anything is allocated.
# N*T*C*H*W of a rendered clip: 2**30 elements are 4 GiB in float32 for the
# clip alone (rendering holds several times that).
MAX_CLIP_ELEMENTS = 2**30
MAX_FRAMES = 1024
MAX_NODES = 32


def num_edges(num_nodes: int) -> int:
    """Edges of a cell with two inputs and ``num_nodes`` intermediate nodes
    (4 nodes: 14)."""
    return sum(n + 2 for n in range(num_nodes))


def node_edges(node: int) -> range:
    """Edge ids entering intermediate node ``node`` (0-based); edge
    ``first + s`` comes from source node ``s``."""
    first = num_edges(node)
    return range(first, first + node + 2)


def check_clip_size(shape: Tuple[int, ...], max_elements: int,
                    where: str) -> None:
    """Refuse a (N, T, C, H, W) clip of more than ``max_elements`` elements,
    before it is allocated."""
    elements = math.prod(shape)
    if elements > max_elements:
        raise ValueError(
            f'{where}: a clip of shape {tuple(shape)} (N, T, C, H, W) has '
            f'{elements:,} elements, more than the limit of '
            f'{max_elements:,} (max_clip_elements); use smaller images, '
            'batches or num_frames, or raise max_clip_elements if the memory '
            'is there')


@dataclass(frozen=True)
class FrameLayout:
    """Which frames a clip has and which of them must be rendered.

    Attributes:
        num_frames (int): T.
        ref_frame (int): Index of the untouched reference frame.
        progression (str): ``'symmetric'`` (frame at distance d gets ``|d|``,
            as the authors' code) or ``'signed'`` (``-d`` before the reference,
            ``+d`` after: a smooth camera motion).
        distances (tuple[int]): The distinct non-zero distances to render
            (T' of them).
        frame_index (tuple[int]): Per frame, its index in ``distances``; -1 for
            the reference frame.
    """
    num_frames: int
    ref_frame: int
    progression: str
    distances: Tuple[int, ...]
    frame_index: Tuple[int, ...]

    @classmethod
    def build(cls,
              num_frames: int,
              ref_frame: Optional[int] = None,
              progression: str = 'symmetric') -> 'FrameLayout':
        check_int('num_frames', num_frames, 1, MAX_FRAMES)
        ref_frame = num_frames // 2 if ref_frame is None else ref_frame
        if (isinstance(ref_frame, bool) or not isinstance(ref_frame, int)
                or not 0 <= ref_frame < num_frames):
            raise ValueError(
                f'ref_frame must be an integer in [0, {num_frames - 1}] for '
                f'num_frames={num_frames}, got {ref_frame!r}')
        check_choice('progression', progression, PROGRESSIONS)
        per_frame = [t - ref_frame for t in range(num_frames)]
        if progression == 'symmetric':
            per_frame = [abs(d) for d in per_frame]
        distances = tuple(sorted({d for d in per_frame if d != 0}))
        frame_index = tuple(distances.index(d) if d else -1 for d in per_frame)
        return cls(num_frames, ref_frame, progression, distances, frame_index)

    def distance_tensor(self, device=None) -> Tensor:
        return torch.tensor(self.distances, dtype=torch.float32, device=device)

    def assemble(self, images: Tensor, rendered: Tensor) -> Tensor:
        """The (N, T, C, H, W) clip: ``images`` (N, C, H, W) as the reference
        frame, ``rendered`` (N, T', ...)."""
        if not self.distances:
            return images.unsqueeze(1)
        ref = self.ref_frame
        before = torch.tensor(
            self.frame_index[:ref], device=images.device, dtype=torch.long)
        after = torch.tensor(
            self.frame_index[ref + 1:], device=images.device, dtype=torch.long)
        return torch.cat([
            rendered.index_select(1, before),
            images.unsqueeze(1).to(rendered.dtype),
            rendered.index_select(1, after)
        ],
                         dim=1)


def to_normalized(matrix: Tensor, height: int, width: int) -> Tensor:
    """(..., 3, 3) forward matrices in centred pixel units → the same map in
    ``affine_grid``'s [-1, 1] units."""
    check_image_size(height, width, 'to_normalized')
    scale = matrix.new_tensor([2.0 / width, 2.0 / height, 1.0])
    return scale.view(3, 1) * matrix / scale.view(1, 3)


def forward_to_theta(forward: Tensor) -> Tensor:
    """(..., 3, 3) forward (source → output) matrices → (..., 2, 3)
    ``affine_grid`` thetas (output → source)."""
    linear, shift = forward[..., :2, :2], forward[..., :2, 2:]
    a, b = linear[..., 0, 0], linear[..., 0, 1]
    c, d = linear[..., 1, 0], linear[..., 1, 1]
    inv = torch.stack([d, -b, -c, a], dim=-1).view(
        linear.shape) / (a * d - b * c)[..., None, None]
    return torch.cat([inv, -inv @ shift], dim=-1)


def op_matrices(ops: Sequence[AugmentOp], magnitudes: Tensor,
                distances: Tensor, height: int, width: int) -> Tensor:
    """(K, T', 3, 3) normalised forward matrices of geometric ops per rendered
    frame (identity for the others)."""
    rows = []
    for k, op in enumerate(ops):
        if isinstance(op, GeometricOp):
            m = op.matrix(
                op.frame_values(magnitudes[k], distances), height, width)
            rows.append(to_normalized(m, height, width))
        else:
            rows.append(
                torch.eye(3, dtype=distances.dtype,
                          device=distances.device).expand(
                              len(distances), 3, 3))
    return torch.stack(rows)


def affine_grid(thetas: Tensor, height: int, width: int) -> Tensor:
    """``F.affine_grid(thetas, (B, C, H, W), align_corners=False)``, by
    broadcasting instead of a batched matmul over a homogeneous base grid
    (several times faster on CPU).

    Args:
        thetas (Tensor): (B, 2, 3).

    Returns:
        Tensor: (B, H, W, 2) sampling grid.
    """
    xs = (torch.arange(width, dtype=thetas.dtype, device=thetas.device) * 2 +
          1) / width - 1
    ys = (torch.arange(height, dtype=thetas.dtype, device=thetas.device) * 2 +
          1) / height - 1
    theta = thetas.view(-1, 1, 1, 2, 3)
    # (B, 1, W, 2) + (B, H, 1, 2): one full-size (contiguous) write
    along_x = theta[..., 0] * xs.view(1, 1, width, 1) + theta[..., 2]
    return along_x + theta[..., 1] * ys.view(1, height, 1, 1)


def warp_images(images: Tensor, thetas: Tensor, padding_mode: str) -> Tensor:
    """Warp each image by every theta: (N, C, H, W) and (P, 2, 3)
    → (N, P, C, H, W).

    The P sampling grids are stacked along the height, so the image is read as
    it is (never repeated P times).
    """
    check_images(images, 'warp_images')
    return _sample_stacked(images, thetas, padding_mode).transpose(1, 2)


def _sample_stacked(images: Tensor, thetas: Tensor,
                    padding_mode: str) -> Tensor:
    """(N, C, H, W) and (P, 2, 3) → (N, C, P, H, W): one ``grid_sample`` with
    the P grids stacked along the height."""
    n, c, h, w = images.shape
    p = thetas.shape[0]
    grid = affine_grid(thetas.to(images.dtype), h, w)
    grid = grid.reshape(1, p * h, w, 2).expand(n, -1, -1, -1)
    out = F.grid_sample(
        images,
        grid,
        mode='bilinear',
        padding_mode=padding_mode,
        align_corners=False)
    return out.view(n, c, p, h, w)


def warp_frames(frames: Tensor, thetas: Tensor, padding_mode: str) -> Tensor:
    """Warp frame b by theta b: (B, C, H, W) and (B, 2, 3) → (B, C, H, W)."""
    check_images(frames, 'warp_frames')
    grid = affine_grid(thetas.to(frames.dtype), *frames.shape[-2:])
    return F.grid_sample(
        frames,
        grid,
        mode='bilinear',
        padding_mode=padding_mode,
        align_corners=False)


# Inside mix_clip a clip is held frame-major, (T', N, C, H, W): the frames of
# a distance share their warps, so one grid per frame serves the whole batch
# (a batch-major layout would copy every grid N times).


def _photometric_frames(op: PhotometricOp, clip: Tensor, values: Tensor,
                        space: PixelSpace) -> Tensor:
    """``op`` on a frame-major (T', N, C, H, W) clip with per-frame
    ``values`` (T',)."""
    out = op.apply(
        clip.flatten(0, 1), values.repeat_interleave(clip.shape[1]), space)
    return out.view(clip.shape)


def _warp_image_sum(pixels: Tensor, thetas: Tensor, coefs: Tensor,
                    padding_mode: str) -> Tensor:
    """``Σ_p coefs[p] · warp(image, thetas[p, t])`` for every frame t, reading
    each image once.

    Args:
        pixels (Tensor): (N, C, H, W) images.
        thetas (Tensor): (P, T', 2, 3).
        coefs (Tensor): (P,).

    Returns:
        Tensor: (T', N, C, H, W).
    """
    n, c, h, w = pixels.shape
    p, t = thetas.shape[:2]
    warped = _sample_stacked(pixels, thetas.flatten(0, 1), padding_mode)
    # (1, P) @ (N*C, P, T'*H*W): a reduction over P without a copy
    mixed = coefs.to(warped.dtype).view(1, p) @ warped.view(n * c, p, -1)
    return mixed.view(n, c, t, h, w).permute(2, 0, 1, 3, 4)


def _warp_clip_sum(clip: Tensor, thetas: Tensor, coefs: Tensor,
                   padding_mode: str) -> Tensor:
    """``Σ_p coefs[p] · warp(clip[t], thetas[p, t])`` for every frame t, in
    one ``grid_sample``: the N images of a frame are its channels, its P grids
    are stacked along the height.

    Args:
        clip (Tensor): (T', N, C, H, W), frame-major.
        thetas (Tensor): (P, T', 2, 3).
        coefs (Tensor): (P,).

    Returns:
        Tensor: (T', N, C, H, W).
    """
    t, n, c, h, w = clip.shape
    p = thetas.shape[0]
    grid = affine_grid(
        thetas.transpose(0, 1).reshape(t * p, 2, 3).to(clip.dtype), h, w)
    warped = F.grid_sample(
        clip.reshape(t, n * c, h, w),
        grid.reshape(t, p * h, w, 2),
        mode='bilinear',
        padding_mode=padding_mode,
        align_corners=False)
    # (1, P) @ (T'*N*C, P, H*W): a reduction over P without a copy
    mixed = coefs.to(warped.dtype).view(1, p) @ warped.view(t * n * c, p, -1)
    return mixed.view(t, n, c, h, w)


def _check_edge_tensor(name: str, value, shape: Tuple[int, int]) -> None:
    if not torch.is_tensor(value) or tuple(value.shape) != shape:
        got = (
            tuple(value.shape)
            if torch.is_tensor(value) else type(value).__name__)
        raise ValueError(
            f'mix_clip: {name} must be a tensor of shape {shape} (edges, '
            f'ops), got {got}')


# the placeholder of a node that is not rendered
_SKIPPED = torch.empty(0)


def _needed_nodes(num_nodes: int, active: List[List[bool]]) -> List[bool]:
    """Which intermediate nodes reach the output through active edges."""
    needed = [False] * num_nodes
    needed[-1] = True
    for node in reversed(range(num_nodes)):
        if not needed[node]:
            continue
        for source, edge in enumerate(node_edges(node)):
            if source >= 2 and any(active[edge]):
                needed[source - 2] = True
    return needed


def node_masses(weights: Tensor,
                num_nodes: int,
                node_aggregation: str = 'sum') -> List[Tensor]:
    """Total path weight of every node: 1 for the two inputs, then
    ``Σ_e (Σ_k w_ek) · mass(source(e))`` (``'mean'``: ``Σ_e Σ_k w_ek``).

    Args:
        weights (Tensor): (E, K) op weights per edge.

    Returns:
        list[Tensor]: num_nodes + 2 0-dim masses, inputs first.
    """
    edge_totals = weights.sum(-1)
    one = weights.new_ones(())
    masses = [one, one]
    for node in range(num_nodes):
        masses.append(
            sum(edge_totals[edge] *
                (masses[source] if node_aggregation == 'sum' else one)
                for source, edge in enumerate(node_edges(node))))
    return masses


def mix_clip(images: Tensor,
             ops: Sequence[AugmentOp],
             weights: Tensor,
             magnitudes: Tensor,
             layout: FrameLayout,
             num_nodes: int,
             space: PixelSpace = PixelSpace(),
             padding_mode: str = 'zeros',
             active: Optional[Sequence[Sequence[bool]]] = None,
             node_aggregation: str = 'sum',
             max_elements: int = MAX_CLIP_ELEMENTS,
             mass_weights: Optional[Tensor] = None) -> Tensor:
    """Render the cell for per-edge op weights: the relaxed mixture, a sampled
    one-hot, or a discrete policy (one-hot on its kept edges, zero elsewhere).

    Args:
        images (Tensor): (N, C, H, W) images in ``space``.
        ops (sequence of AugmentOp): The K ops of every edge.
        weights (Tensor): (E, K) op weights per edge (softmax(α / temperature),
            a straight-through one-hot, or a policy's one-hot).
        magnitudes (Tensor): (E, K) per-step magnitude of each op on each edge.
        layout (FrameLayout): Frames to render.
        num_nodes (int): Intermediate nodes (E = ``num_edges(num_nodes)``).
        space (PixelSpace): How ``images`` map to pixels (photometric ops and
            black padding need it).
        padding_mode (str): ``grid_sample`` padding: ``'zeros'`` (black),
            ``'border'`` or ``'reflection'``.
        active (sequence, optional): (E, K) booleans: which ops of which edges
            to render; the others must have weight 0 and are skipped, and so
            are nodes that no active edge leads from to the output (the sampled
            mode, discrete policies). None: all.
        node_aggregation (str): ``'sum'`` (normalised once at the output, see
            the module docstring) or ``'mean'`` (version-1 policies).
        max_elements (int): Largest N·T·C·H·W refused before allocating.
        mass_weights (Tensor, optional): (E, K) weights the node masses (the
            normalisers) are computed from; default ``weights``. A sampled
            straight-through one-hot passes ``weights.detach()``: its masses
            are path counts, and the gradient is then the straight-through
            estimator's of the plain sum over paths (the weights' own
            gradient would also flow through the normaliser).

    Returns:
        Tensor: (N, T, C, H, W) clip in ``space``; frame ``ref_frame`` is
        ``images`` itself.
    """
    check_images(images, 'mix_clip')
    check_int('num_nodes', num_nodes, 1, MAX_NODES)
    shape = (num_edges(num_nodes), len(ops))
    _check_edge_tensor('weights', weights, shape)
    _check_edge_tensor('magnitudes', magnitudes, shape)
    check_finite_magnitudes(magnitudes, 'mix_clip')
    check_choice('padding_mode', padding_mode, PADDING_MODES)
    check_choice('node_aggregation', node_aggregation, NODE_AGGREGATIONS)
    n, c, h, w = images.shape
    check_clip_size((n, layout.num_frames, c, h, w), max_elements, 'mix_clip')
    if not layout.distances:
        return images.unsqueeze(1)
    if active is None:
        active = [[True] * shape[1]] * shape[0]
    elif len(active) != shape[0] or any(
            len(row) != shape[1] for row in active):
        raise ValueError(
            f'mix_clip: active must be {shape[0]} rows of {shape[1]} '
            'booleans (edges, ops)')
    t = len(layout.distances)
    distances = layout.distance_tensor(images.device).to(magnitudes.dtype)
    pixels = space.to_pixels(images)
    warps = [
        k for k, op in enumerate(ops)
        if isinstance(op, GeometricOp) and not isinstance(op, Identity)
    ]
    # (E, T', 2, 3) per warp op; (E, T') per photometric op
    thetas = {
        k:
        forward_to_theta(
            to_normalized(
                ops[k].matrix(ops[k].frame_values(magnitudes[:, k], distances),
                              h, w), h, w))
        for k in warps
    }
    values = {
        k: op.frame_values(magnitudes[:, k], distances)
        for k, op in enumerate(ops) if not isinstance(op, GeometricOp)
    }
    if mass_weights is not None:
        _check_edge_tensor('mass_weights', mass_weights, shape)
    masses = node_masses(weights if mass_weights is None else mass_weights,
                         num_nodes, node_aggregation)
    needed = _needed_nodes(num_nodes, active)
    # normalised nodes (node / mass): None for the inputs (the image),
    # _SKIPPED for nodes no active edge leads from
    nodes: List[Optional[Tensor]] = [None, None]
    for node in range(num_nodes):
        if not needed[node]:
            nodes.append(_SKIPPED)
            continue
        edges = node_edges(node)
        source_mass = torch.stack([
            masses[s] if node_aggregation == 'sum' else masses[0]
            for s in range(len(edges))
        ])
        # coefs[s, k]: weight of op k of the edge from source s in node/mass
        coefs = weights[edges.start:edges.stop] * (
            source_mass / masses[node + 2].clamp(min=1e-12)).unsqueeze(-1)
        terms = []
        for s, edge in enumerate(edges):
            x = nodes[s]  # None: the image
            on = [k for k in range(len(ops)) if active[edge][k]]
            assert x is not _SKIPPED or not on, f'node {s - 2} was skipped'
            for k in on:
                if isinstance(ops[k], Identity):
                    terms.append(coefs[s, k] *
                                 (pixels.unsqueeze(0) if x is None else x))
                elif k in values:
                    clip = (
                        pixels.unsqueeze(0).expand(t, n, c, h, w)
                        if x is None else x)
                    terms.append(coefs[s, k] * _photometric_frames(
                        ops[k], clip, values[k][edge], space))
            on_warps = [k for k in on if k in thetas]
            if on_warps and x is not None:
                terms.append(
                    _warp_clip_sum(
                        x, torch.stack([thetas[k][edge] for k in on_warps]),
                        coefs[s, on_warps], padding_mode))
        # warps of the image from both inputs: one grid_sample
        image_warps = [(s, k) for s in (0, 1) for k in warps
                       if active[edges[s]][k]]
        if image_warps:
            terms.append(
                _warp_image_sum(
                    pixels,
                    torch.stack([thetas[k][edges[s]] for s, k in image_warps]),
                    torch.stack([coefs[s, k] for s, k in image_warps]),
                    padding_mode))
        out = sum(terms) if terms else pixels.new_zeros(t, n, c, h, w)
        nodes.append(out.expand(t, n, c, h, w))
    clip = space.from_pixels(nodes[-1].flatten(0, 1)).view(t, n, c, h, w)
    return layout.assemble(images, clip.transpose(0, 1))


def render_policy(images: Tensor,
                  policy,
                  space: PixelSpace = PixelSpace(),
                  padding_mode: str = 'zeros',
                  max_elements: int = MAX_CLIP_ELEMENTS) -> Tensor:
    """Render a discrete policy: :func:`mix_clip` with one-hot weights on the
    kept edges, zero weights on the others and the policy's per-edge
    magnitudes. The same code on CPU (``ImageToVideo``) and on the device
    (``ClipCell``).

    Args:
        images (Tensor): (N, C, H, W) images in ``space``.
        policy (Policy): The discrete policy.
        space (PixelSpace): How ``images`` map to pixels.
        padding_mode (str): ``grid_sample`` padding.
        max_elements (int): Largest N·T·C·H·W refused before allocating.

    Returns:
        Tensor: (N, T, C, H, W) clip in ``space``.
    """
    check_images(images, 'render_policy')
    weights, active = policy.edge_weights(images.device)
    return mix_clip(images, policy.op_modules, weights,
                    policy.magnitude_matrix(images.device), policy.layout,
                    policy.num_nodes, space, padding_mode, active,
                    policy.node_aggregation, max_elements)


def _edge_matrix(op: AugmentOp, magnitude: float, distances: Tensor,
                 height: int, width: int) -> Optional[Tensor]:
    """(T', 3, 3) forward matrices (centred pixels, float64) of a kept edge's
    warp; None for ops that move no pixel."""
    if not isinstance(op, GeometricOp) or isinstance(op, Identity):
        return None
    value = torch.tensor(magnitude, dtype=torch.float64)
    return op.matrix(op.frame_values(value, distances), height, width)


def path_transforms(
        ops: Sequence[AugmentOp],
        kept: Sequence[Sequence[Tuple[int, int, float]]],
        layout: FrameLayout,
        image_size: Tuple[int, int],
        node_aggregation: str = 'sum') -> List[Tuple[float, Tensor]]:
    """The paths from the image to the output of a discrete policy, with their
    weights and the warp each path makes of its frames.

    Args:
        ops (sequence of AugmentOp): The op set.
        kept (sequence): Per node, its kept edges as
            ``(source, op index, magnitude)``.
        layout (FrameLayout): The frames.
        image_size (tuple): (H, W); rotations and shears depend on it.
        node_aggregation (str): ``'sum'`` or ``'mean'``.

    Returns:
        list[tuple]: ``(weight, forward)`` per distinct path warp, weights
        summing to 1; ``forward`` (T', 3, 3) float64 composite matrices of the
        path's geometric ops (source → output pixel, centred pixel units).
        Paths with the same warp are merged.
    """
    h, w = image_size
    check_image_size(h, w, 'path_transforms')
    distances = layout.distance_tensor().double()
    eye = torch.eye(3, dtype=torch.float64).expand(len(distances), 3, 3)
    terms: List[List[Tuple[float, Tensor]]] = [[(1.0, eye)], [(1.0, eye)]]
    masses = [1.0, 1.0]
    for edges in kept:
        scale = [
            masses[s] if node_aggregation == 'sum' else 1.0
            for s, _, _ in edges
        ]
        mass = sum(scale)
        merged: dict = {}
        for (source, k, magnitude), m in zip(edges, scale):
            step = _edge_matrix(ops[k], magnitude, distances, h, w)
            for weight, forward in terms[source]:
                path = forward if step is None else step @ forward
                key = tuple(path.flatten().mul(1e9).round().tolist())
                merged[key] = (merged.get(key,
                                          (0.0, path))[0] + weight * m / mass,
                               path)
        terms.append(list(merged.values()))
        masses.append(mass)
    return terms[-1]


def common_frame_thetas(ops: Sequence[AugmentOp],
                        kept: Sequence[Sequence[Tuple[int, int, float]]],
                        layout: FrameLayout,
                        image_size: Tuple[int, int]) -> Optional[Tensor]:
    """Per frame, the ``affine_grid`` theta of the warp every path makes, when
    all paths make the same one (photometric ops aside), else None.

    Returns:
        Tensor | None: (T, 2, 3) float32 thetas (output → source, normalised),
        the identity for the reference frame.
    """
    h, w = image_size
    check_image_size(h, w, 'frame_affines')
    distances = layout.distance_tensor().double()
    eye = torch.eye(3, dtype=torch.float64).expand(len(distances), 3, 3)
    # per node the warp all its paths share, or None
    common: List[Optional[Tensor]] = [eye, eye]
    for edges in kept:
        shared = None
        for source, k, magnitude in edges:
            step = _edge_matrix(ops[k], magnitude, distances, h, w)
            path = common[source]
            if path is not None and step is not None:
                path = step @ path
            if path is None or (shared is not None and
                                not torch.allclose(path, shared, atol=1e-9)):
                shared = None
                break
            shared = path
        common.append(shared)
    if common[-1] is None:
        return None
    ref = torch.eye(3)[:2]
    if not layout.distances:
        return ref.unsqueeze(0)
    thetas = forward_to_theta(to_normalized(common[-1], h, w)).float()
    return torch.stack(
        [ref if i < 0 else thetas[i] for i in layout.frame_index])


def mean_displacement(forward: Tensor,
                      image_size: Tuple[int, int],
                      max_points: int = 64) -> Tensor:
    """Mean distance in pixels each pixel centre moves under forward
    matrices, on an evenly spaced grid of at most ``max_points`` per side
    (exact up to that size).

    Args:
        forward (Tensor): (..., 3, 3) forward matrices in centred pixels.
        image_size (tuple): (H, W).

    Returns:
        Tensor: (...) mean displacements.
    """
    h, w = image_size
    ys = torch.linspace(0.5 - h / 2, h / 2 - 0.5, min(h, max_points))
    xs = torch.linspace(0.5 - w / 2, w / 2 - 0.5, min(w, max_points))
    grid = torch.stack([
        xs.view(1, -1).expand(len(ys), -1),
        ys.view(-1, 1).expand(-1, len(xs)),
        torch.ones(len(ys), len(xs))
    ],
                       dim=-1).reshape(-1, 3).to(forward.dtype)  # (P, 3)
    moved = grid @ forward.transpose(-1, -2)  # (..., P, 3)
    return (moved - grid)[..., :2].norm(dim=-1).mean(-1)
