"""A random policy from a search space: the control for "the search chose
it".

A derived DAS policy keeps ``edges_per_node`` incoming edges per node, each
with its strongest op. The random control keeps as many edges per node,
chosen uniformly among the node's sources, each with an op chosen uniformly
from the op set, and gives every kept edge the magnitude the searched cell
has for that (edge, op): a random draw from exactly the space the search
chose in, with the search's magnitudes (R-DARTS; Li & Talwalkar, "Random
search and reproducibility for NAS").
"""
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ..utils.validators import check_int
from .ops import build_ops
from .policy import Policy
from .topology import FrameLayout, node_edges, num_edges


def random_policy(ops: Sequence[str],
                  magnitudes: torch.Tensor,
                  num_frames: int,
                  seed: Union[int, Sequence[int]],
                  edges_per_node: int = 2,
                  ref_frame: Optional[int] = None,
                  progression: str = 'symmetric',
                  magnitude_seed: Optional[int] = None) -> Policy:
    """Draw a random policy.

    Args:
        ops (sequence of str): The op set (the search space's).
        magnitudes (Tensor): (E, K) per-step magnitude of op ``k`` on edge
            ``e`` (``ClipCell.magnitudes``); E fixes the number of nodes.
        num_frames (int): T.
        seed (int | sequence of int): Seed of the draw (numpy's
            ``default_rng``, e.g. ``[run seed, draw]``): the same seed draws
            the same policy on every machine.
        edges_per_node (int): Kept edges per node (DARTS: 2), at most the
            sources of the first node (2).
        ref_frame, progression: The clip layout, as the cell's.
        magnitude_seed (int, optional): Recorded in the policy (the seed the
            magnitudes were drawn with).

    Returns:
        Policy: The random policy (sum aggregation, as a derived one).
    """
    op_modules = build_ops(tuple(ops))
    magnitudes = torch.as_tensor(magnitudes, dtype=torch.float64)
    num_nodes = 0
    while num_edges(num_nodes) < magnitudes.shape[0]:
        num_nodes += 1
    if magnitudes.dim() != 2 or num_edges(num_nodes) != magnitudes.shape[
            0] or magnitudes.shape[1] != len(op_modules):
        raise ValueError(
            'random_policy: magnitudes must be (E, K) with E the edges of a '
            f'cell (2, 5, 9, 14, ...) and K = {len(op_modules)} ops, got '
            f'{tuple(magnitudes.shape)}')
    # the first node has 2 sources
    check_int('random_policy: edges_per_node', edges_per_node, 1, 2)
    FrameLayout.build(num_frames, ref_frame, progression)  # checks them
    rng = np.random.default_rng(seed)
    nodes = []
    for node in range(num_nodes):
        edges = node_edges(node)
        sources = sorted(
            rng.choice(len(edges), size=edges_per_node,
                       replace=False).tolist())
        kept = []
        for source in sources:
            k = int(rng.integers(len(op_modules)))
            magnitude = (
                float(magnitudes[edges[source],
                                 k]) if op_modules[k].has_magnitude else None)
            kept.append((source, ops[k], magnitude))
        nodes.append(kept)
    return Policy(
        ops=tuple(ops),
        nodes=nodes,
        num_frames=num_frames,
        ref_frame=ref_frame,
        progression=progression,
        node_aggregation='sum',
        magnitude_seed=magnitude_seed)
