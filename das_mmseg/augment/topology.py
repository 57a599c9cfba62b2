"""The clip cell's graph and the clip's frames.

The cell has two input nodes (both the image repeated over the frames) and
``num_nodes`` intermediate nodes; node ``j`` takes an edge from every earlier
node. Edges are numbered node by node, sources in order: node 0 has edges 0-1
(from the inputs), node 1 edges 2-4, ... The clip is the last node.

Node aggregation is DARTS's and the authors' *sum*, normalised once by the
last node's total path weight, its *mass* (input nodes 1; node ``j``
``Σ_e (Σ_k w_ek) · mass(source(e))``): see :mod:`.rendering`. (``'mean'``
divides each node by its own edge weights instead: the semantics of
version-1 policies, kept only to read them.)

A frame at distance ``d`` from the reference frame gets every op's value for
``d``; :class:`FrameLayout` says which distances a clip has.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..utils.validators import check_choice, check_int

PROGRESSIONS = ('symmetric', 'signed')
NODE_AGGREGATIONS = ('sum', 'mean')
# Limits that refuse an absurd cell or clip before anything is allocated.
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


def nodes_on_output_paths(sources: Sequence[Sequence[int]]) -> List[bool]:
    """Which intermediate nodes lead to the output (the last node).

    Args:
        sources (sequence): Per intermediate node, the source nodes of the
            edges it keeps (0, 1: the inputs; ``s >= 2``: node ``s - 2``).

    Returns:
        list[bool]: One flag per intermediate node.
    """
    used = [False] * len(sources)
    used[-1] = True
    for node in reversed(range(len(sources))):
        if used[node]:
            for source in sources[node]:
                if source >= 2:
                    used[source - 2] = True
    return used


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
        check_int('ref_frame', ref_frame, 0, num_frames - 1)
        check_choice('progression', progression, PROGRESSIONS)
        per_frame = [t - ref_frame for t in range(num_frames)]
        if progression == 'symmetric':
            per_frame = [abs(d) for d in per_frame]
        distances = tuple(sorted({d for d in per_frame if d != 0}))
        frame_index = tuple(distances.index(d) if d else -1 for d in per_frame)
        return cls(num_frames, ref_frame, progression, distances, frame_index)

    def distance_tensor(self, device=None) -> Tensor:
        """(T',) float32 distances of the rendered frames."""
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
