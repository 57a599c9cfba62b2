"""Rendering a clip from the cell graph: :func:`mix_clip` mixes the ops of
every edge with per-edge weights (the relaxed cell, a sampled one-hot, or a
discrete policy), :func:`render_policy` renders a discrete policy.

Node ``j`` is ``Σ_e Σ_k w_ek · op_ek(node_source(e))`` and the clip is the
last node divided by its mass (:func:`~.topology.node_masses`). A relaxed
4-node cell (Σ_k w_ek = 1) then weighs its paths of 1, 2, 3, 4 ops by 0.125,
0.375, 0.375, 0.125, and a discrete policy gives every path from the image to
the output the same weight. The renderer carries every node in its
normalised form ``node / mass`` with its mass, so nodes stay in image range
and photometric ops see image-range pixels; for warps, which are linear, that
*is* sum-then-normalise.

Geometric ops are applied in sequence along a path, as the authors' code does:
content an earlier warp moved out of the frame stays black (with zero
padding). :func:`render_policy` renders a discrete policy as :func:`mix_clip`
with one-hot weights on its kept edges and zero weights elsewhere, so search
and training see the same clip, and the CPU pipeline step (``ImageToVideo``)
calls the same code.

Rendering works in pixel space (so zero padding is black, whatever the
normalisation), skips the reference frame (every op is the identity at
distance 0, so it *is* the input) and, under the symmetric progression,
renders each distance once (frames ``ref ± d`` are equal).
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..utils.validators import check_choice, check_int
from .geometry import (PADDING_MODES, forward_to_theta, frame_matrices,
                       to_normalized, warp_clip_sum, warp_image_sum)
from .ops import AugmentOp, GeometricOp, Identity, PhotometricOp
from .pixel_space import PixelSpace
from .tensor_checks import check_finite_magnitudes, check_images
from .topology import (MAX_NODES, NODE_AGGREGATIONS, FrameLayout, node_edges,
                       node_masses, nodes_on_output_paths, num_edges)

# N*T*C*H*W of a rendered clip: 2**30 elements are 4 GiB in float32 for the
# clip alone (rendering holds several times that); a larger clip is refused
# before anything is allocated.
MAX_CLIP_ELEMENTS = 2**30


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
                frame_matrices(ops[k], magnitudes[:, k], distances, h, w), h,
                w))
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
    # the sources of every node's active edges
    sources = [[
        s for s, edge in enumerate(node_edges(node)) if any(active[edge])
    ] for node in range(num_nodes)]
    needed = nodes_on_output_paths(sources)
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
                    warp_clip_sum(
                        x, torch.stack([thetas[k][edge] for k in on_warps]),
                        coefs[s, on_warps], padding_mode))
        # warps of the image from both inputs: one grid_sample
        image_warps = [(s, k) for s in (0, 1) for k in warps
                       if active[edges[s]][k]]
        if image_warps:
            terms.append(
                warp_image_sum(
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
