"""A discrete image-to-video policy: which op each kept edge of the cell
applies, with what magnitude, for which clip.

Its fields are checked on construction (:mod:`.policy_validation`); it reads
and writes the versioned JSON file of :mod:`.policy_format`, and gives the
renderers (:func:`~.rendering.render_policy`) its one-hot edge weights and
magnitudes, and the tools its paths' warps (:mod:`.paths`).
"""
import os
import warnings
from dataclasses import InitVar, dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch

from .geometry import mean_displacement
from .ops import AugmentOp
from .paths import common_frame_thetas, path_transforms
from .policy_format import (VERSION_1_WARNING, policy_arguments,
                            policy_to_dict, read_policy_json,
                            write_policy_json)
from .policy_validation import (PolicyEdge, PolicyError, check_layout,
                                check_nodes, check_op_magnitudes, check_op_set,
                                check_records)
from .topology import FrameLayout, nodes_on_output_paths, num_edges


@dataclass
class Policy:
    """A discrete clip policy: which op each kept edge applies, with what
    magnitude, for which clip.

    Args:
        ops (sequence of str): The op set the policy was derived for
            (the search space's).
        nodes (sequence): Per intermediate node, its kept edges as
            ``(source, op name[, magnitude])`` tuples or
            ``{"source", "op"[, "magnitude"]}`` dicts.
        magnitudes (dict[str, float], optional): Per-op shorthand: the
            magnitude of every edge of that op that gives none (how version-1
            files are read). Folded into the edges; not kept.
        num_frames (int): T.
        ref_frame (int, optional): The reference frame; default
            ``num_frames // 2``.
        progression (str): ``'symmetric'`` or ``'signed'``.
        node_aggregation (str): ``'sum'`` (the authors', DARTS) or ``'mean'``
            (version-1 policies only).
        magnitude_seed (int, optional): The seed the cell drew its magnitudes
            with (a record; rendering uses the edges' magnitudes).
        learned_magnitudes (bool): Whether the magnitudes were learned in the
            search (a record).
    """
    ops: Tuple[str, ...]
    nodes: Tuple[Tuple[PolicyEdge, ...], ...]
    magnitudes: InitVar[Optional[Dict[str, float]]] = None
    num_frames: int = 8
    ref_frame: Optional[int] = None
    progression: str = 'symmetric'
    node_aggregation: str = 'sum'
    magnitude_seed: Optional[int] = None
    learned_magnitudes: bool = False

    def __post_init__(self, magnitudes: Optional[Dict[str, float]]) -> None:
        self.ops, self._ops = check_op_set(self.ops)
        self.ref_frame = check_layout(self.num_frames, self.ref_frame,
                                      self.progression).ref_frame
        check_records(self.node_aggregation, self.magnitude_seed,
                      self.learned_magnitudes)
        by_name = dict(zip(self.ops, self._ops))
        self.nodes = check_nodes(self.nodes, by_name,
                                 check_op_magnitudes(by_name, magnitudes))

    # --- what the renderers need ---------------------------------------------
    @property
    def layout(self) -> FrameLayout:
        return FrameLayout.build(self.num_frames, self.ref_frame,
                                 self.progression)

    @property
    def op_modules(self) -> Tuple[AugmentOp, ...]:
        return self._ops

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    def kept_edges(self) -> List[List[Tuple[int, int, float]]]:
        """Per node, its kept edges as ``(source, op index, magnitude)``
        (the op's identity magnitude for ops without one)."""
        return [[(e.source, self.ops.index(e.op), self._ops[self.ops.index(
            e.op)].identity_magnitude if e.magnitude is None else e.magnitude)
                 for e in edges] for edges in self.nodes]

    def edge_weights(self,
                     device=None) -> Tuple[torch.Tensor, List[List[bool]]]:
        """The cell's (E, K) op weights that render this policy (one-hot on
        the kept edges, zero elsewhere) and the matching (E, K) booleans of
        what to render."""
        shape = (num_edges(self.num_nodes), len(self.ops))
        weights = torch.zeros(shape)
        for node, edges in enumerate(self.kept_edges()):
            for source, k, _ in edges:
                weights[num_edges(node) + source, k] = 1.0
        active = (weights > 0).tolist()
        return weights.to(device), active

    def magnitude_matrix(self, device=None) -> torch.Tensor:
        """(E, K) per-step magnitudes: the kept edges', the identity value
        elsewhere (unused)."""
        rows = [[op.identity_magnitude for op in self._ops]
                for _ in range(num_edges(self.num_nodes))]
        for node, edges in enumerate(self.kept_edges()):
            for source, k, magnitude in edges:
                rows[num_edges(node) + source][k] = magnitude
        return torch.tensor(rows, dtype=torch.float32, device=device)

    # --- what its paths do to the image --------------------------------------
    def frame_affines(self, image_size: Tuple[int,
                                              int]) -> Optional[torch.Tensor]:
        """Per frame the ``affine_grid`` theta (output → source, normalised)
        of the warp that every path of the frame makes (photometric ops aside);
        None when the paths differ.

        Args:
            image_size (tuple): (H, W); rotations and shears depend on it.

        Returns:
            Tensor | None: (T, 2, 3) float32; the identity for the reference
            frame.
        """
        return common_frame_thetas(self._ops, self.kept_edges(), self.layout,
                                   tuple(image_size))

    def displacement(self, image_size: Tuple[int, int]) -> List[float]:
        """How far each frame is from the image: the mean distance in pixels
        a pixel moves, averaged over the paths with their weights
        (photometric ops move none).

        Args:
            image_size (tuple): (H, W).

        Returns:
            list[float]: T values, 0 for the reference frame.
        """
        layout = self.layout
        if not layout.distances:
            return [0.0]
        paths = path_transforms(self._ops, self.kept_edges(), layout,
                                tuple(image_size), self.node_aggregation)
        per_distance = sum(weight * mean_displacement(forward, image_size)
                           for weight, forward in paths)
        return [
            0.0 if i < 0 else float(per_distance[i])
            for i in layout.frame_index
        ]

    def is_identity(self) -> bool:
        """Whether every frame is the image: one frame, or no op on a path to
        the clip changes any pixel."""
        if not self.layout.distances:
            return True
        used = nodes_on_output_paths([[e.source for e in edges]
                                      for edges in self.nodes])
        by_name = dict(zip(self.ops, self._ops))
        return all(edge.magnitude is None
                   or edge.magnitude == by_name[edge.op].identity_magnitude
                   for node, edges in enumerate(self.nodes) if used[node]
                   for edge in edges)

    def check_compatible(self,
                         ops: Sequence[str],
                         num_frames: Optional[int] = None,
                         ref_frame: Optional[int] = None) -> None:
        """Raise a PolicyError when the policy was built for another op set or
        clip."""
        if tuple(ops) != self.ops:
            raise PolicyError(
                f'the policy was built for the op set {list(self.ops)}, not '
                f'{list(ops)}')
        if num_frames is not None and num_frames != self.num_frames:
            raise PolicyError(
                f'the policy makes {self.num_frames}-frame clips, not '
                f'num_frames={num_frames}')
        if ref_frame is not None and ref_frame != self.ref_frame:
            raise PolicyError(
                f'the policy\'s reference frame is {self.ref_frame}, not '
                f'ref_frame={ref_frame}')

    # --- its JSON file (policy_format) ---------------------------------------
    def to_dict(self) -> dict:
        """The version-2 JSON object."""
        return policy_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> 'Policy':
        arguments, version = policy_arguments(data)
        policy = cls(**arguments)
        if version == 1:
            warnings.warn(VERSION_1_WARNING)
        return policy

    @classmethod
    def load(cls, path: str) -> 'Policy':
        data = read_policy_json(path)
        try:
            return cls.from_dict(data)
        except PolicyError as e:
            raise PolicyError(f'policy file {path!r}: {e}') from None

    def save(self, path: str) -> None:
        """Write the JSON atomically (see
        :func:`das_mmseg.utils.io.atomic_write`)."""
        write_policy_json(path, self.to_dict())

    @classmethod
    def coerce(cls, policy: Union['Policy', dict, str]) -> 'Policy':
        """A Policy from a Policy, a dict or a JSON path."""
        if isinstance(policy, Policy):
            return policy
        if isinstance(policy, dict):
            return cls.from_dict(policy)
        if isinstance(policy, (str, os.PathLike)):
            return cls.load(os.fspath(policy))
        raise PolicyError('a policy is a Policy, a dict or a JSON path, got '
                          f'{type(policy).__name__}')

    def describe(self) -> str:
        """One line per node, e.g.
        ``node2 = sum(shift_x[0.06](in0), zoom[1.1](node3))``."""

        def name(s):
            return f'in{s}' if s < 2 else f'node{s}'

        def fmt(e: PolicyEdge) -> str:
            return '' if e.magnitude is None else f'[{e.magnitude:.3g}]'

        lines = []
        for n, edges in enumerate(self.nodes):
            terms = ', '.join(f'{e.op}{fmt(e)}({name(e.source)})'
                              for e in edges)
            lines.append(f'node{n + 2} = {self.node_aggregation}({terms})')
        return '\n'.join(lines)
