"""Clips from images: frame layout, affine warps, and the two renderers of a
DARTS clip cell.

The cell has two input nodes (both the image repeated over the frames) and
``num_nodes`` intermediate nodes; node ``j`` takes an edge from every earlier
node, each edge applies an op to the whole clip, and a node is the *mean* of
its incoming edges (a sum would scale the image with the number of edges). The
cell's output is the last node. Edges are numbered node by node, sources in
order: node 0 has edges 0-1 (from the inputs), node 1 edges 2-4, ...

- :func:`mix_clip` renders the relaxed cell: per-edge op weights (softmax(α),
  or a sampled one-hot). Warps are linear, so
  ``Σ_i w_i warp_k(x_i) = warp_k(Σ_i w_i x_i)``: per node and geometric op
  there is one warp of the weighted sum of its sources, not one per edge; all
  ops of a node run in one ``grid_sample``.
- :func:`render_policy` renders a discrete policy. A node is kept as a weighted
  list of warps of the image (or of a materialised clip, after a photometric
  op): consecutive geometric ops along a path fold into one affine, so a purely
  geometric policy costs one interpolation per path and frame.

Both work in pixel space (so zero padding is black, whatever the
normalisation), skip the reference frame (every op is the identity at distance
0, so it *is* the input) and, under the symmetric progression, render each
distance once (frames ``ref ± d`` are equal).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .ops import (GEOMETRIC, AugmentOp, GeometricOp, Identity, PhotometricOp,
                  PixelSpace)

PROGRESSIONS = ('symmetric', 'signed')
PADDING_MODES = ('zeros', 'border', 'reflection')


def num_edges(num_nodes: int) -> int:
    """Edges of a cell with two inputs and ``num_nodes`` intermediate nodes
    (4 nodes: 14)."""
    return sum(n + 2 for n in range(num_nodes))


def node_edges(node: int) -> range:
    """Edge ids entering intermediate node ``node`` (0-based); edge
    ``first + s`` comes from source node ``s``."""
    first = num_edges(node)
    return range(first, first + node + 2)


def check_choice(name: str, value, allowed: Sequence) -> None:
    if value not in allowed:
        raise ValueError(
            f'{name} must be one of {tuple(allowed)}, got {value!r}')


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
        if not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(
                f'num_frames must be an integer >= 1, got {num_frames!r}')
        ref_frame = num_frames // 2 if ref_frame is None else ref_frame
        if not isinstance(ref_frame, int) or not 0 <= ref_frame < num_frames:
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
    theta = thetas.view(-1, 2, 3, 1, 1)
    grid = theta[:, :, 0] * xs.view(1, 1, 1, width) + theta[:, :, 1] * ys.view(
        1, 1, height, 1) + theta[:, :, 2]
    return grid.permute(0, 2, 3, 1)  # (B, 2, H, W) → (B, H, W, 2)


def warp_images(images: Tensor, thetas: Tensor, padding_mode: str) -> Tensor:
    """Warp each image by every theta: (N, C, H, W) and (P, 2, 3)
    → (N, P, C, H, W).

    The P sampling grids are stacked along the height, so the image is read as
    it is (never repeated P times).
    """
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
    return out.view(n, c, p, h, w).transpose(1, 2)


def warp_frames(frames: Tensor, thetas: Tensor, padding_mode: str) -> Tensor:
    """Warp frame b by theta b: (B, C, H, W) and (B, 2, 3) → (B, C, H, W)."""
    grid = affine_grid(thetas.to(frames.dtype), *frames.shape[-2:])
    return F.grid_sample(
        frames,
        grid,
        mode='bilinear',
        padding_mode=padding_mode,
        align_corners=False)


def apply_photometric(op: PhotometricOp, clip: Tensor, values: Tensor,
                      space: PixelSpace) -> Tensor:
    """Apply ``op`` with per-frame ``values`` (T',) to a (N, T', C, H, W)
    pixel-scale clip."""
    out = op.apply(clip.flatten(0, 1), values.repeat(clip.shape[0]), space)
    return out.view(clip.shape)


def mix_clip(images: Tensor,
             ops: Sequence[AugmentOp],
             weights: Tensor,
             magnitudes: Tensor,
             layout: FrameLayout,
             num_nodes: int,
             space: PixelSpace = PixelSpace(),
             padding_mode: str = 'zeros',
             active: Optional[List[List[bool]]] = None) -> Tensor:
    """Render the relaxed cell.

    Args:
        images (Tensor): (N, C, H, W) images in ``space``.
        ops (sequence of AugmentOp): The K ops of every edge.
        weights (Tensor): (num_edges, K) op weights per edge
            (softmax(α / temperature), or a straight-through one-hot). Each
            node averages its incoming edges.
        magnitudes (Tensor): (K,) per-step magnitudes.
        layout (FrameLayout): Frames to render.
        num_nodes (int): Intermediate nodes.
        space (PixelSpace): How ``images`` map to pixels (photometric ops and
            black padding need it).
        padding_mode (str): ``grid_sample`` padding: ``'zeros'`` (black),
            ``'border'`` or ``'reflection'``.
        active (list[list[bool]], optional): Per node and op, whether any edge
            gives the op a non-zero weight; inactive ops are skipped
            (the sampled mode). None: all active.

    Returns:
        Tensor: (N, T, C, H, W) clip in ``space``; frame ``ref_frame`` is
            ``images`` itself.
    """
    if not layout.distances:
        return images.unsqueeze(1)
    n, c, h, w = images.shape
    distances = layout.distance_tensor(images.device)
    pixels = space.to_pixels(images)
    matrices = op_matrices(ops, magnitudes, distances.to(magnitudes.dtype), h,
                           w)
    thetas = forward_to_theta(matrices)  # (K, T', 2, 3)
    t = len(layout.distances)
    # nodes[s] is None for the two inputs (the image, the same in every frame),
    # else a (N, T', C, H, W) clip
    nodes: List[Optional[Tensor]] = [None, None]
    for node in range(num_nodes):
        # (sources, K): the node is the mean of its edges
        edge_weights = weights[node_edges(node)] / (node + 2)
        out = 0
        warp_inputs, warp_ops = [], []
        for k, op in enumerate(ops):
            if active is not None and not active[node][k]:
                continue
            w_k = edge_weights[:, k]
            # linear: warp the weighted sum of the sources once
            if op.kind == GEOMETRIC:
                mixed = w_k[0] + w_k[1]  # node 0: just the image's weight
                if node:
                    mixed = mixed * pixels.unsqueeze(1) + sum(
                        w_k[s] * nodes[s] for s in range(2, node + 2))
                if isinstance(op, Identity):
                    out = out + (
                        mixed *
                        pixels.unsqueeze(1) if mixed.dim() == 0 else mixed)
                else:
                    warp_inputs.append(mixed)
                    warp_ops.append(k)
            else:  # not linear: one application per distinct source
                values = op.frame_values(magnitudes[k],
                                         distances.to(magnitudes.dtype))
                image_clip = pixels.unsqueeze(1).expand(n, t, c, h, w)
                out = out + (w_k[0] + w_k[1]) * apply_photometric(
                    op, image_clip, values, space)
                for s in range(2, node + 2):
                    out = out + w_k[s] * apply_photometric(
                        op, nodes[s], values, space)
        if warp_ops:
            out = out + _warp_mixtures(warp_inputs, thetas[warp_ops], pixels,
                                       padding_mode)
        # nothing active: the node is the mean of zero-weight edges
        if not torch.is_tensor(out):
            out = torch.zeros_like(pixels).unsqueeze(1).expand(n, t, c, h, w)
        nodes.append(out.expand(n, t, c, h, w))
    return layout.assemble(
        images,
        space.from_pixels(nodes[-1].flatten(0, 1)).view(n, t, c, h, w))


def _warp_mixtures(inputs: List[Tensor], thetas: Tensor, pixels: Tensor,
                   padding_mode: str) -> Tensor:
    """Warp each op's mixed input by that op's per-frame thetas in one
    ``grid_sample`` and sum over the ops.

    Args:
        inputs (list[Tensor]): K' mixtures: 0-dim weights of the image alone,
            or (N, 1 or T', C, H, W) clips.
        thetas (Tensor): (K', T', 2, 3).
        pixels (Tensor): (N, C, H, W) the image.

    Returns:
        Tensor: (N, T', C, H, W).
    """
    k, t = thetas.shape[:2]
    n, c, h, w = pixels.shape
    # weighted images: read the image once for every op and frame
    if all(x.dim() == 0 for x in inputs):
        warped = warp_images(pixels, thetas.flatten(0, 1),
                             padding_mode).view(n, k, t, c, h, w)
        return (warped * torch.stack(inputs).view(1, k, 1, 1, 1, 1)).sum(1)
    frames = torch.stack([
        (x * pixels.unsqueeze(1) if x.dim() == 0 else x).expand(n, t, c, h, w)
        for x in inputs
    ])
    theta = thetas.unsqueeze(1).expand(k, n, t, 2, 3)
    warped = warp_frames(
        frames.reshape(-1, c, h, w), theta.reshape(-1, 2, 3), padding_mode)
    return warped.view(k, n, t, c, h, w).sum(0)


@dataclass
class _Term:
    """One summand of a discrete node:
    ``weight * warp(source, geometric ops applied since source)``."""
    weight: float
    # -1: the image; otherwise an index into the materialised clips
    source: int
    # geometric op indices applied since the source, in order
    ops: Tuple[int, ...]
    # geometric op indices since the image, None when not a single warp
    geometry: Optional[Tuple[int, ...]]


def render_policy(
    images: Optional[Tensor],
    ops: Sequence[AugmentOp],
    nodes: Sequence[Sequence[Tuple[int, int]]],
    magnitudes: Tensor,
    layout: FrameLayout,
    space: PixelSpace = PixelSpace(),
    padding_mode: str = 'zeros',
    image_size: Optional[Tuple[int, int]] = None
) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Render a discrete policy, the same way on CPU (``ImageToVideo``) and on
    the device (``ClipCell``).

    Args:
        images (Tensor, optional): (N, C, H, W) images in ``space``; None
            computes only the frame thetas (then ``image_size`` is needed:
            rotations and shears depend on the aspect ratio).
        ops (sequence of AugmentOp): The op set.
        nodes (sequence): Per intermediate node, its kept edges as
            ``(source node, op index)``; source 0 and 1 are the inputs,
            ``s >= 2`` intermediate node ``s - 2``. A node is the mean of its
            kept edges.
        magnitudes (Tensor): (K,) per-step magnitudes.
        layout (FrameLayout): Frames to render.
        space (PixelSpace): How ``images`` map to pixels.
        padding_mode (str): ``grid_sample`` padding.
        image_size (tuple, optional): (H, W) when ``images`` is None.

    Returns:
        tuple: the (N, T, C, H, W) clip in ``space`` (None without images), and
        (T, 2, 3) normalised thetas of each frame (identity for the reference
        frame) when every frame is one affine warp of the image
        (photometric ops aside), else None.
    """
    h, w = images.shape[-2:] if images is not None else image_size
    t = len(layout.distances)
    device = magnitudes.device
    distances = layout.distance_tensor(device).to(magnitudes.dtype)
    matrices = op_matrices(ops, magnitudes, distances, h, w)  # (K, T', 3, 3)
    pixels = None if images is None else space.to_pixels(images)
    # materialised clips (N, T', C, H, W) in pixels
    sources: List[Optional[Tensor]] = []
    node_terms: List[List[_Term]] = [[_Term(1.0, -1, (), ())]] * 2
    cache: Dict[int, int] = {}  # node → index of its materialised clip

    def chain(op_ids: Tuple[int, ...]) -> Tensor:
        forward = torch.eye(
            3, dtype=matrices.dtype, device=device).expand(t, 3, 3)
        for k in op_ids:
            forward = matrices[k] @ forward
        return forward

    def materialise(terms: List[_Term]) -> Tensor:
        n, c = pixels.shape[:2]
        out = 0
        from_image = [term for term in terms if term.source < 0]
        # one grid_sample for every path that starts at the image
        if from_image:
            # (P, T', 2, 3)
            thetas = torch.stack(
                [forward_to_theta(chain(term.ops)) for term in from_image])
            warped = warp_images(pixels, thetas.flatten(0, 1),
                                 padding_mode).view(n, len(from_image), t, c,
                                                    h, w)
            if len(from_image) == 1 and from_image[0].weight == 1:
                out = warped[:, 0]
            else:
                weights = warped.new_tensor([
                    term.weight for term in from_image
                ]).view(1, -1, 1, 1, 1, 1)
                out = (warped * weights).sum(1)
        for term in terms:
            if term.source < 0:
                continue
            clip = sources[term.source]
            if term.ops:
                theta = forward_to_theta(chain(term.ops)).unsqueeze(0).expand(
                    n, t, 2, 3)
                clip = warp_frames(
                    clip.flatten(0, 1), theta.reshape(-1, 2, 3),
                    padding_mode).view(clip.shape)
            out = out + term.weight * clip
        return out

    for node, edges in enumerate(nodes):
        merged: Dict[Tuple[int, Tuple[int, ...]], _Term] = {}
        for src, k in edges:
            op = ops[k]
            if op.kind == GEOMETRIC:  # fold into every path's affine
                step = () if isinstance(op, Identity) else (k, )
                new = [
                    _Term(
                        term.weight / len(edges), term.source, term.ops + step,
                        None if term.geometry is None else term.geometry +
                        step) for term in node_terms[src]
                ]
            else:  # render the source node, then apply the op to it
                if src not in cache:
                    cache[src] = len(sources)
                    sources.append(None if pixels is
                                   None else materialise(node_terms[src]))
                values = op.frame_values(magnitudes[k], distances)
                sources.append(None if pixels is None else apply_photometric(
                    op, sources[cache[src]], values, space))
                new = [
                    _Term(1.0 / len(edges),
                          len(sources) - 1, (),
                          _common_geometry(node_terms[src], chain))
                ]
            for term in new:
                key = (term.source, term.ops)
                if key in merged:
                    merged[key].weight += term.weight
                    if merged[key].geometry != term.geometry:
                        merged[key].geometry = None
                else:
                    merged[key] = term
        node_terms.append(list(merged.values()))
    out_terms = node_terms[-1]
    clip = None if images is None else images.unsqueeze(1)
    if images is not None and t:
        rendered = space.from_pixels(materialise(out_terms).flatten(
            0, 1)).view(images.shape[0], t, *images.shape[1:])
        clip = layout.assemble(images, rendered)
    geometry = _common_geometry(out_terms, chain)
    if geometry is None:
        return clip, None
    ref = torch.eye(3, dtype=matrices.dtype, device=device)[:2]
    thetas = forward_to_theta(chain(geometry)) if t else None  # (T', 2, 3)
    return clip, torch.stack(
        [ref if i < 0 else thetas[i] for i in layout.frame_index])


def _common_geometry(terms: List[_Term], chain) -> Optional[Tuple[int, ...]]:
    """The geometric ops of the terms when they all warp the image the same
    way, else None."""
    if any(term.geometry is None for term in terms):
        return None
    first = chain(terms[0].geometry)
    for term in terms[1:]:
        if not torch.allclose(chain(term.geometry), first, atol=1e-6):
            return None
    return terms[0].geometry
