"""A discrete image-to-video policy and its versioned JSON file.

Example file (``version`` 1)::

    {
      "version": 1,
      # the op set it was searched over
      "ops": ["identity", "shift_x", "shift_y", "zoom", "rotate"],
      "num_frames": 8,
      "ref_frame": 4,
      "progression": "symmetric",  # or "signed"
      # per step, for the ops it uses
      "magnitudes": {"shift_x": 0.06, "zoom": 1.1},
      # kept incoming edges per intermediate node
      "nodes": [
        [{"source": 0, "op": "shift_x"}, {"source": 1, "op": "zoom"}],
        [{"source": 2, "op": "zoom"}, {"source": 0, "op": "identity"}]
      ]
    }

Sources 0 and 1 are the cell's inputs (the image), source ``s >= 2`` is
intermediate node ``s - 2``; the clip is the last node. A node averages its
kept edges (``ClipCell.discretize`` keeps the 2 strongest, as DARTS; a
hand-written policy may keep one, e.g. a chain, whose frames are then single
warps of the image).
"""
import json
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch

from ..utils.io import atomic_write
from .clip import FrameLayout
from .ops import AugmentOp, build_ops

POLICY_VERSION = 1
_KEYS = ('version', 'ops', 'num_frames', 'ref_frame', 'progression',
         'magnitudes', 'nodes')


class PolicyError(ValueError):
    """A policy (file, dict or object) that cannot be used, with what is wrong
    and what is allowed."""


@dataclass
class Policy:
    """A discrete clip policy: which op each kept edge applies, with what
    magnitude, for which clip.

    Args:
        ops (sequence of str): The op set the policy was derived for
            (the search space's).
        nodes (sequence): Per intermediate node, its kept edges as
            ``(source, op name)`` pairs.
        magnitudes (dict[str, float]): Per-step magnitude of every op with a
            magnitude that an edge uses.
        num_frames (int): T.
        ref_frame (int, optional): The reference frame; default
            ``num_frames // 2``.
        progression (str): ``'symmetric'`` or ``'signed'``.
    """
    ops: Tuple[str, ...]
    nodes: Tuple[Tuple[Tuple[int, str], ...], ...]
    magnitudes: Dict[str, float] = field(default_factory=dict)
    num_frames: int = 8
    ref_frame: Optional[int] = None
    progression: str = 'symmetric'

    def __post_init__(self) -> None:
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
        self.nodes = self._check_nodes(self.nodes)
        self.magnitudes = self._check_magnitudes(self.magnitudes)

    def _check_nodes(self, nodes) -> Tuple[Tuple[Tuple[int, str], ...], ...]:
        if not isinstance(nodes, (list, tuple)) or not nodes:
            raise PolicyError(
                '"nodes" must be a non-empty list (one list of edges per '
                f'node), got {nodes!r}')
        checked = []
        for n, edges in enumerate(nodes):
            if not isinstance(edges, (list, tuple)) or not edges:
                raise PolicyError(
                    f'node {n} must keep at least one edge, got {edges!r}')
            kept = []
            for edge in edges:
                if isinstance(edge, dict):
                    edge = (edge.get('source'), edge.get('op'))
                if not isinstance(edge, (list, tuple)) or len(edge) != 2:
                    raise PolicyError(
                        f'node {n}: an edge is {{"source": int, "op": name}}, '
                        f'got {edge!r}')
                source, op = edge
                if not isinstance(source, int) or isinstance(
                        source, bool) or not 0 <= source < n + 2:
                    raise PolicyError(
                        f'node {n}: edge source {source!r} is not an earlier '
                        f'node; allowed sources are {list(range(n + 2))} (0, '
                        '1: the inputs; s >= 2: node s - 2)')
                if op not in self.ops:
                    raise PolicyError(
                        f'node {n}: op {op!r} is not in the policy\'s op set '
                        f'{list(self.ops)}')
                kept.append((source, op))
            if len({s for s, _ in kept}) != len(kept):
                raise PolicyError(
                    f'node {n}: each source may feed a node once, got sources '
                    f'{[s for s, _ in kept]}')
            checked.append(tuple(kept))
        return tuple(checked)

    def _check_magnitudes(self, magnitudes) -> Dict[str, float]:
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
            op = by_name[name]
            if not op.has_magnitude:
                raise PolicyError(
                    f'op {name!r} takes no magnitude, got {value!r}')
            if isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not math.isfinite(value):
                raise PolicyError(
                    f'magnitude of {name!r} must be a finite number, got '
                    f'{value!r}')
            low, high = op.bounds
            if not low <= value <= high:
                raise PolicyError(
                    f'magnitude of {name!r} is {value!r}, outside its bounds '
                    f'[{low}, {high}]')
            checked[name] = float(value)
        used = {op for edges in self.nodes for _, op in edges}
        missing = sorted(
            name for name in used
            if by_name[name].has_magnitude and name not in checked)
        if missing:
            raise PolicyError(
                f'the policy uses {missing} but gives no magnitude for them; '
                'add them to "magnitudes"')
        return checked

    # --- what the renderers need ---------------------------------------------
    @property
    def layout(self) -> FrameLayout:
        return FrameLayout.build(self.num_frames, self.ref_frame,
                                 self.progression)

    @property
    def op_modules(self) -> Tuple[AugmentOp, ...]:
        return self._ops

    def edge_indices(self) -> List[List[Tuple[int, int]]]:
        """Per node, its kept edges as ``(source, op index)``."""
        return [[(s, self.ops.index(op)) for s, op in edges]
                for edges in self.nodes]

    def magnitude_tensor(self, device=None) -> torch.Tensor:
        """(K,) magnitudes in op-set order; the identity value for ops without
        one in the policy."""
        values = [
            self.magnitudes.get(name, op.identity_magnitude)
            for name, op in zip(self.ops, self._ops)
        ]
        return torch.tensor(values, dtype=torch.float32, device=device)

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
        return dict(
            version=POLICY_VERSION,
            ops=list(self.ops),
            num_frames=self.num_frames,
            ref_frame=self.ref_frame,
            progression=self.progression,
            magnitudes=dict(self.magnitudes),
            nodes=[[dict(source=s, op=op) for s, op in edges]
                   for edges in self.nodes])

    @classmethod
    def from_dict(cls, data: dict) -> 'Policy':
        if not isinstance(data, dict):
            raise PolicyError(
                f'a policy is a JSON object, got {type(data).__name__}')
        version = data.get('version')
        if version != POLICY_VERSION:
            raise PolicyError(
                f'unsupported policy version {version!r}; supported: '
                f'[{POLICY_VERSION}]')
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise PolicyError(
                f'unknown policy keys {unknown}; allowed keys: {list(_KEYS)}')
        for key in ('ops', 'nodes'):
            if key not in data:
                raise PolicyError(
                    f'the policy has no {key!r}; required keys: ["ops", '
                    '"nodes"]')
        return cls(
            ops=data['ops'],
            nodes=data['nodes'],
            magnitudes=data.get('magnitudes', {}),
            num_frames=data.get('num_frames', 8),
            ref_frame=data.get('ref_frame'),
            progression=data.get('progression', 'symmetric'))

    @classmethod
    def load(cls, path: str) -> 'Policy':
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
        except OSError as e:
            raise PolicyError(
                f'cannot read policy file {path!r}: {e.strerror}') from None
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
        ``node 2 = mean(shift_x(in0), zoom(node 3))``."""

        def name(s):
            return f'in{s}' if s < 2 else f'node{s}'

        lines = []
        for n, edges in enumerate(self.nodes):
            terms = ', '.join(f'{op}{self._fmt(op)}({name(s)})'
                              for s, op in edges)
            lines.append(f'node{n + 2} = mean({terms})')
        return '\n'.join(lines)

    def _fmt(self, op: str) -> str:
        return f'[{self.magnitudes[op]:.3g}]' if op in self.magnitudes else ''
