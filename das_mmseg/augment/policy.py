"""A discrete image-to-video policy and its versioned JSON file.

Example file (``version`` 2)::

    {
      "version": 2,
      # the op set it was searched over
      "ops": ["identity", "shift_x", "shift_y", "zoom", "rotate"],
      "num_frames": 8,
      "ref_frame": 4,
      "progression": "symmetric",  # or "signed"
      "node_aggregation": "sum",
      # the seed the cell drew its magnitudes with (null: not recorded)
      "magnitude_seed": 1234,
      "learned_magnitudes": false,
      # kept incoming edges per intermediate node, each with the per-step
      # magnitude its op has on that edge (omitted for ops without one)
      "nodes": [
        [{"source": 0, "op": "shift_x", "magnitude": 0.06},
         {"source": 1, "op": "zoom", "magnitude": 1.1}],
        [{"source": 2, "op": "zoom", "magnitude": 0.93},
         {"source": 0, "op": "identity"}]
      ]
    }

Sources 0 and 1 are the cell's inputs (the image), source ``s >= 2`` is
intermediate node ``s - 2``; the clip is the last node. Nodes *sum* their kept
edges and the clip is normalised once, so every path from the image to the
clip weighs the same (see :mod:`das_mmseg.augment.clip`).
``ClipCell.discretize`` keeps the 2 strongest edges per node, as DARTS; a
hand-written policy may keep one, e.g. a chain, whose frames are then single
warps of the image.

Version 1 files (per-op ``"magnitudes": {"shift_x": 0.06}``, nodes that
averaged their edges) still load, with a warning: every edge takes its op's
magnitude and nodes keep averaging (``node_aggregation='mean'``).
"""
import json
import math
import os
import warnings
from dataclasses import InitVar, dataclass
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch

from ..utils.io import atomic_write
from .clip import (MAX_NODES, NODE_AGGREGATIONS, FrameLayout,
                   common_frame_thetas, mean_displacement, num_edges,
                   path_transforms)
from .ops import AugmentOp, build_ops

POLICY_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
_KEYS = {
    1: ('version', 'ops', 'num_frames', 'ref_frame', 'progression',
        'magnitudes', 'nodes'),
    2: ('version', 'ops', 'num_frames', 'ref_frame', 'progression',
        'node_aggregation', 'magnitude_seed', 'learned_magnitudes', 'nodes')
}
# magnitude_seed is a torch.Generator seed
MAX_SEED = 2**63 - 1


class PolicyError(ValueError):
    """A policy (file, dict or object) that cannot be used, with what is wrong
    and what is allowed."""


class PolicyEdge(NamedTuple):
    """A kept edge: its source node, its op and the op's per-step magnitude on
    this edge (None for ops without one)."""
    source: int
    op: str
    magnitude: Optional[float] = None


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


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
        if isinstance(self.ops, str) or not isinstance(self.ops,
                                                       (list, tuple)):
            raise PolicyError(
                f'"ops" must be a list of op names, got {self.ops!r}')
        self.ops = tuple(self.ops)
        try:
            self._ops: Tuple[AugmentOp, ...] = build_ops(self.ops)
        except (KeyError, ValueError) as e:
            raise PolicyError(f'"ops": {e.args[0]}') from None
        try:
            layout = FrameLayout.build(self.num_frames, self.ref_frame,
                                       self.progression)
        except ValueError as e:
            raise PolicyError(str(e)) from None
        self.ref_frame = layout.ref_frame
        if self.node_aggregation not in NODE_AGGREGATIONS:
            raise PolicyError(
                f'"node_aggregation" must be one of {list(NODE_AGGREGATIONS)}'
                f', got {self.node_aggregation!r}')
        if self.magnitude_seed is not None and (
                not isinstance(self.magnitude_seed, int)
                or isinstance(self.magnitude_seed, bool)
                or not 0 <= self.magnitude_seed <= MAX_SEED):
            raise PolicyError(
                '"magnitude_seed" must be null or an integer in [0, 2**63 - '
                f'1], got {self.magnitude_seed!r}')
        if not isinstance(self.learned_magnitudes, bool):
            raise PolicyError('"learned_magnitudes" must be true or false, '
                              f'got {self.learned_magnitudes!r}')
        self.nodes = self._check_nodes(self.nodes,
                                       self._check_op_magnitudes(magnitudes))

    def _check_magnitude(self, where: str, op: AugmentOp, name: str,
                         value) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise PolicyError(
                f'{where}: magnitude of {name!r} must be a finite number, got '
                f'{value!r}')
        low, high = op.bounds
        if not low <= value <= high:
            raise PolicyError(
                f'{where}: magnitude of {name!r} is {value!r}, outside its '
                f'bounds [{low}, {high}]')
        return float(value)

    def _check_op_magnitudes(self, magnitudes) -> Dict[str, float]:
        if magnitudes is None:
            return {}
        if not isinstance(magnitudes, dict):
            raise PolicyError(
                '"magnitudes" must be a mapping from op name to number, got '
                f'{magnitudes!r}')
        by_name = dict(zip(self.ops, self._ops))
        checked = {}
        for name, value in magnitudes.items():
            if name not in by_name:
                raise PolicyError(
                    f'magnitude given for {name!r}, which is not in the op '
                    f'set {list(self.ops)}')
            if not by_name[name].has_magnitude:
                raise PolicyError(
                    f'op {name!r} takes no magnitude, got {value!r}')
            checked[name] = self._check_magnitude('"magnitudes"',
                                                  by_name[name], name, value)
        return checked

    def _check_nodes(
            self, nodes,
            per_op: Dict[str, float]) -> Tuple[Tuple[PolicyEdge, ...], ...]:
        if not isinstance(nodes, (list, tuple)) or not nodes:
            raise PolicyError(
                '"nodes" must be a non-empty list (one list of edges per '
                f'node), got {nodes!r}')
        if len(nodes) > MAX_NODES:
            raise PolicyError(
                f'"nodes" has {len(nodes)} nodes, more than the limit of '
                f'{MAX_NODES}')
        by_name = dict(zip(self.ops, self._ops))
        missing = set()
        checked = []
        for n, edges in enumerate(nodes):
            if not isinstance(edges, (list, tuple)) or not edges:
                raise PolicyError(
                    f'node {n} must keep at least one edge, got {edges!r}')
            kept = []
            for edge in edges:
                if isinstance(edge, dict):
                    unknown = sorted(set(edge) - {'source', 'op', 'magnitude'})
                    if unknown:
                        raise PolicyError(
                            f'node {n}: unknown edge keys {unknown}; an edge '
                            'is {"source": int, "op": name, "magnitude": '
                            'number (for ops with one)}')
                    edge = (edge.get('source'), edge.get('op'),
                            edge.get('magnitude'))
                if not isinstance(edge,
                                  (list, tuple)) or len(edge) not in (2, 3):
                    raise PolicyError(
                        f'node {n}: an edge is {{"source": int, "op": name, '
                        f'"magnitude": number}}, got {edge!r}')
                source, op = edge[:2]
                magnitude = edge[2] if len(edge) == 3 else None
                if not isinstance(source, int) or isinstance(
                        source, bool) or not 0 <= source < n + 2:
                    raise PolicyError(
                        f'node {n}: edge source {source!r} is not an earlier '
                        f'node; allowed sources are {list(range(n + 2))} (0, '
                        '1: the inputs; s >= 2: node s - 2)')
                if op not in by_name:
                    raise PolicyError(
                        f'node {n}: op {op!r} is not in the policy\'s op set '
                        f'{list(self.ops)}')
                where = f'node {n}, edge from {source}'
                if not by_name[op].has_magnitude:
                    if magnitude is not None:
                        raise PolicyError(
                            f'{where}: op {op!r} takes no magnitude, got '
                            f'{magnitude!r}')
                elif magnitude is None:
                    if op in per_op:
                        magnitude = per_op[op]
                    else:
                        missing.add(op)
                else:
                    magnitude = self._check_magnitude(where, by_name[op], op,
                                                      magnitude)
                kept.append(PolicyEdge(source, op, magnitude))
            if len({e.source for e in kept}) != len(kept):
                raise PolicyError(
                    f'node {n}: each source may feed a node once, got sources '
                    f'{[e.source for e in kept]}')
            checked.append(tuple(kept))
        if missing:
            raise PolicyError(
                f'the policy uses {sorted(missing)} but gives no magnitude '
                'for them; give each such edge its "magnitude"')
        return tuple(checked)

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
        # nodes that lead to the output
        used = [False] * self.num_nodes
        used[-1] = True
        for node in reversed(range(self.num_nodes)):
            if used[node]:
                for edge in self.nodes[node]:
                    if edge.source >= 2:
                        used[edge.source - 2] = True
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

    # --- serialisation -------------------------------------------------------
    def to_dict(self) -> dict:
        """The version-2 JSON object."""

        def edge(e: PolicyEdge) -> dict:
            out = dict(source=e.source, op=e.op)
            if e.magnitude is not None:
                out['magnitude'] = e.magnitude
            return out

        return dict(
            version=POLICY_VERSION,
            ops=list(self.ops),
            num_frames=self.num_frames,
            ref_frame=self.ref_frame,
            progression=self.progression,
            node_aggregation=self.node_aggregation,
            magnitude_seed=self.magnitude_seed,
            learned_magnitudes=self.learned_magnitudes,
            nodes=[[edge(e) for e in edges] for edges in self.nodes])

    @classmethod
    def from_dict(cls, data: dict) -> 'Policy':
        if not isinstance(data, dict):
            raise PolicyError(
                f'a policy is a JSON object, got {type(data).__name__}')
        version = data.get('version')
        if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
            raise PolicyError(
                f'unsupported policy version {version!r}; supported: '
                f'{list(SUPPORTED_VERSIONS)}')
        unknown = sorted(set(data) - set(_KEYS[version]))
        if unknown:
            raise PolicyError(
                f'unknown keys {unknown} for a version-{version} policy; '
                f'allowed keys: {list(_KEYS[version])}')
        for key in ('ops', 'nodes'):
            if key not in data:
                raise PolicyError(
                    f'the policy has no {key!r}; required keys: ["ops", '
                    '"nodes"]')
        common = dict(
            ops=data['ops'],
            nodes=data['nodes'],
            num_frames=data.get('num_frames', 8),
            ref_frame=data.get('ref_frame'),
            progression=data.get('progression', 'symmetric'))
        if version == 1:
            policy = cls(
                **common,
                magnitudes=data.get('magnitudes', {}),
                node_aggregation='mean')
            warnings.warn(
                'a version-1 policy: it was derived under the old semantics '
                '(nodes averaging their edges, one magnitude per op, chains '
                'of warps folded into one); it is rendered with '
                "node_aggregation='mean' and its per-op magnitudes on every "
                'edge, warps in sequence. Search again for a version-2 '
                'policy.')
            return policy
        return cls(
            **common,
            node_aggregation=data.get('node_aggregation', 'sum'),
            magnitude_seed=data.get('magnitude_seed'),
            learned_magnitudes=data.get('learned_magnitudes', False))

    @classmethod
    def load(cls, path: str) -> 'Policy':
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
        except OSError as e:
            raise PolicyError(
                f'cannot read policy file {path!r}: {e.strerror}') from None
        except UnicodeDecodeError as e:
            raise PolicyError(
                f'policy file {path!r} is not UTF-8 text ({e.reason} at byte '
                f'{e.start}); is it a JSON policy?') from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise PolicyError(
                f'policy file {path!r} is not valid JSON ({e.msg} at line '
                f'{e.lineno}, column {e.colno}); is it truncated?') from None
        try:
            return cls.from_dict(data)
        except PolicyError as e:
            raise PolicyError(f'policy file {path!r}: {e}') from None

    def save(self, path: str) -> None:
        """Write the JSON atomically (see
        :func:`das_mmseg.utils.io.atomic_write`)."""
        atomic_write(path, (json.dumps(self.to_dict(), indent=2) +
                            '\n').encode('utf-8'))

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
