"""The paths of a discrete policy, from the image to the clip: the warp each
path makes of every frame, and its weight.

A path applies its geometric ops in sequence, so its warp is the product of
their matrices; photometric ops move no pixel. Every path of a version-2
policy weighs the same (the node aggregation, see :mod:`.topology`). What
the paths give: the warp a frame's paths share, when they all make the same
one (``ImageToVideo``'s ``frame_affines``), and how far a frame moves the
image on average (``Policy.displacement``).

A policy's kept edges are given per node as ``(source, op index,
magnitude)`` tuples (``Policy.kept_edges``).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .geometry import forward_to_theta, frame_matrices, to_normalized
from .ops import AugmentOp, GeometricOp, Identity
from .tensor_checks import check_image_size
from .topology import FrameLayout

KeptEdges = Sequence[Sequence[Tuple[int, int, float]]]


def _edge_matrix(op: AugmentOp, magnitude: float, distances: Tensor,
                 height: int, width: int) -> Optional[Tensor]:
    """(T', 3, 3) forward matrices (centred pixels, float64) of a kept edge's
    warp; None for ops that move no pixel."""
    if not isinstance(op, GeometricOp) or isinstance(op, Identity):
        return None
    value = torch.tensor(magnitude, dtype=torch.float64)
    return frame_matrices(op, value, distances, height, width)


def path_transforms(
        ops: Sequence[AugmentOp],
        kept: KeptEdges,
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


def common_frame_thetas(ops: Sequence[AugmentOp], kept: KeptEdges,
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
