"""What a discrete policy may hold, checked field by field: each check raises
a :class:`PolicyError` that says what is wrong and what is allowed, and
returns the field in its checked form (kept edges become
:class:`PolicyEdge` tuples)."""
import math
from typing import Dict, NamedTuple, Optional, Tuple

from .ops import AugmentOp, build_ops
from .topology import MAX_NODES, NODE_AGGREGATIONS, FrameLayout

# magnitude_seed is a torch.Generator seed
MAX_SEED = 2**63 - 1
EDGE_KEYS = ('source', 'op', 'magnitude')
EDGE_FORMAT = ('{"source": int, "op": name, "magnitude": number (for ops '
               'with one)}')

OpsByName = Dict[str, AugmentOp]


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


def check_op_set(ops) -> Tuple[Tuple[str, ...], Tuple[AugmentOp, ...]]:
    """The op names as a tuple, and their ops."""
    if isinstance(ops, str) or not isinstance(ops, (list, tuple)):
        raise PolicyError(f'"ops" must be a list of op names, got {ops!r}')
    try:
        return tuple(ops), build_ops(ops)
    except (KeyError, ValueError) as e:
        raise PolicyError(f'"ops": {e.args[0]}') from None


def check_layout(num_frames, ref_frame, progression) -> FrameLayout:
    """The clip's frames (``ref_frame`` None: the middle one)."""
    try:
        return FrameLayout.build(num_frames, ref_frame, progression)
    except ValueError as e:
        raise PolicyError(str(e)) from None


def check_records(node_aggregation, magnitude_seed,
                  learned_magnitudes) -> None:
    """The fields that say how the policy was made and is aggregated."""
    if node_aggregation not in NODE_AGGREGATIONS:
        raise PolicyError(
            f'"node_aggregation" must be one of {list(NODE_AGGREGATIONS)}'
            f', got {node_aggregation!r}')
    if magnitude_seed is not None and (not isinstance(magnitude_seed, int)
                                       or isinstance(magnitude_seed, bool)
                                       or not 0 <= magnitude_seed <= MAX_SEED):
        raise PolicyError(
            '"magnitude_seed" must be null or an integer in [0, 2**63 - '
            f'1], got {magnitude_seed!r}')
    if not isinstance(learned_magnitudes, bool):
        raise PolicyError('"learned_magnitudes" must be true or false, '
                          f'got {learned_magnitudes!r}')


def check_magnitude(where: str, op: AugmentOp, name: str, value) -> float:
    """A magnitude of op ``name``: a finite number within the op's bounds."""
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


def check_op_magnitudes(by_name: OpsByName, magnitudes) -> Dict[str, float]:
    """The per-op shorthand ``{op name: magnitude}`` (version-1 files), for
    ops of the op set ``by_name`` that take a magnitude; None: none."""
    if magnitudes is None:
        return {}
    if not isinstance(magnitudes, dict):
        raise PolicyError(
            '"magnitudes" must be a mapping from op name to number, got '
            f'{magnitudes!r}')
    checked = {}
    for name, value in magnitudes.items():
        if name not in by_name:
            raise PolicyError(
                f'magnitude given for {name!r}, which is not in the op '
                f'set {list(by_name)}')
        if not by_name[name].has_magnitude:
            raise PolicyError(f'op {name!r} takes no magnitude, got {value!r}')
        checked[name] = check_magnitude('"magnitudes"', by_name[name], name,
                                        value)
    return checked


def _edge_fields(node: int, edge) -> tuple:
    """``(source, op, magnitude)`` of an edge given as a dict or a tuple."""
    if isinstance(edge, dict):
        unknown = sorted(set(edge) - set(EDGE_KEYS))
        if unknown:
            raise PolicyError(f'node {node}: unknown edge keys {unknown}; an '
                              f'edge is {EDGE_FORMAT}')
        edge = tuple(edge.get(key) for key in EDGE_KEYS)
    if not isinstance(edge, (list, tuple)) or len(edge) not in (2, 3):
        raise PolicyError(
            f'node {node}: an edge is {{"source": int, "op": name, '
            f'"magnitude": number}}, got {edge!r}')
    return edge[0], edge[1], edge[2] if len(edge) == 3 else None


def _check_edge(node: int, edge, by_name: OpsByName,
                per_op: Dict[str, float]) -> PolicyEdge:
    """One kept edge of node ``node``; its magnitude None when its op takes
    one but neither the edge nor ``per_op`` gives it."""
    source, op, magnitude = _edge_fields(node, edge)
    if not isinstance(source, int) or isinstance(
            source, bool) or not 0 <= source < node + 2:
        raise PolicyError(
            f'node {node}: edge source {source!r} is not an earlier node; '
            f'allowed sources are {list(range(node + 2))} (0, 1: the '
            'inputs; s >= 2: node s - 2)')
    if op not in by_name:
        raise PolicyError(f'node {node}: op {op!r} is not in the policy\'s '
                          f'op set {list(by_name)}')
    where = f'node {node}, edge from {source}'
    if not by_name[op].has_magnitude:
        if magnitude is not None:
            raise PolicyError(f'{where}: op {op!r} takes no magnitude, got '
                              f'{magnitude!r}')
    elif magnitude is None:
        magnitude = per_op.get(op)
    else:
        magnitude = check_magnitude(where, by_name[op], op, magnitude)
    return PolicyEdge(source, op, magnitude)


def check_nodes(
        nodes, by_name: OpsByName,
        per_op: Dict[str, float]) -> Tuple[Tuple[PolicyEdge, ...], ...]:
    """The kept edges of every intermediate node.

    Args:
        nodes (sequence): Per node, its edges as ``(source, op[,
            magnitude])`` tuples or ``{"source", "op"[, "magnitude"]}``
            dicts.
        by_name (dict): The op set, op name → op.
        per_op (dict): Magnitudes of the edges that give none, per op name
            (:func:`check_op_magnitudes`).

    Returns:
        tuple: Per node, its :class:`PolicyEdge` tuples.
    """
    if not isinstance(nodes, (list, tuple)) or not nodes:
        raise PolicyError(
            '"nodes" must be a non-empty list (one list of edges per '
            f'node), got {nodes!r}')
    if len(nodes) > MAX_NODES:
        raise PolicyError(f'"nodes" has {len(nodes)} nodes, more than the '
                          f'limit of {MAX_NODES}')
    checked = []
    for node, edges in enumerate(nodes):
        if not isinstance(edges, (list, tuple)) or not edges:
            raise PolicyError(
                f'node {node} must keep at least one edge, got {edges!r}')
        kept = tuple(_check_edge(node, e, by_name, per_op) for e in edges)
        sources = [e.source for e in kept]
        if len(set(sources)) != len(kept):
            raise PolicyError(f'node {node}: each source may feed a node '
                              f'once, got sources {sources}')
        checked.append(kept)
    missing = {
        e.op
        for edges in checked
        for e in edges if e.magnitude is None and by_name[e.op].has_magnitude
    }
    if missing:
        raise PolicyError(
            f'the policy uses {sorted(missing)} but gives no magnitude '
            'for them; give each such edge its "magnitude"')
    return tuple(checked)
