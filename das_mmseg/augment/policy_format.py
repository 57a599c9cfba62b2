"""The versioned JSON file of a discrete policy.

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
clip weighs the same (see :mod:`das_mmseg.augment.rendering`).
``ClipCell.discretize`` keeps the 2 strongest edges per node, as DARTS; a
hand-written policy may keep one, e.g. a chain, whose frames are then single
warps of the image.

Version 1 files (per-op ``"magnitudes": {"shift_x": 0.06}``, nodes that
averaged their edges) still load, with a warning
(:data:`VERSION_1_WARNING`): every edge takes its op's magnitude and nodes
keep averaging (``node_aggregation='mean'``).
"""
import json
from typing import Tuple

from ..utils.io import atomic_write
from .policy_validation import PolicyEdge, PolicyError

POLICY_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
KEYS_BY_VERSION = {
    1: ('version', 'ops', 'num_frames', 'ref_frame', 'progression',
        'magnitudes', 'nodes'),
    2: ('version', 'ops', 'num_frames', 'ref_frame', 'progression',
        'node_aggregation', 'magnitude_seed', 'learned_magnitudes', 'nodes')
}
VERSION_1_WARNING = (
    'a version-1 policy: it was derived under the old semantics (nodes '
    'averaging their edges, one magnitude per op, chains of warps folded '
    'into one); it is rendered with node_aggregation=\'mean\' and its per-op '
    'magnitudes on every edge, warps in sequence. Search again for a '
    'version-2 policy.')


def edge_to_dict(edge: PolicyEdge) -> dict:
    """A kept edge's JSON object (no ``magnitude`` for ops without one)."""
    out = dict(source=edge.source, op=edge.op)
    if edge.magnitude is not None:
        out['magnitude'] = edge.magnitude
    return out


def policy_to_dict(policy) -> dict:
    """The version-2 JSON object of a ``Policy``."""
    return dict(
        version=POLICY_VERSION,
        ops=list(policy.ops),
        num_frames=policy.num_frames,
        ref_frame=policy.ref_frame,
        progression=policy.progression,
        node_aggregation=policy.node_aggregation,
        magnitude_seed=policy.magnitude_seed,
        learned_magnitudes=policy.learned_magnitudes,
        nodes=[[edge_to_dict(e) for e in edges] for edges in policy.nodes])


def policy_arguments(data) -> Tuple[dict, int]:
    """The ``Policy`` arguments a JSON object gives, and its version.

    Checks the version and the keys; the values are checked by ``Policy``.
    A version-1 object's per-op ``magnitudes`` are passed on, with
    ``node_aggregation='mean'``.
    """
    if not isinstance(data, dict):
        raise PolicyError(
            f'a policy is a JSON object, got {type(data).__name__}')
    version = data.get('version')
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        raise PolicyError(
            f'unsupported policy version {version!r}; supported: '
            f'{list(SUPPORTED_VERSIONS)}')
    unknown = sorted(set(data) - set(KEYS_BY_VERSION[version]))
    if unknown:
        raise PolicyError(
            f'unknown keys {unknown} for a version-{version} policy; '
            f'allowed keys: {list(KEYS_BY_VERSION[version])}')
    for key in ('ops', 'nodes'):
        if key not in data:
            raise PolicyError(
                f'the policy has no {key!r}; required keys: ["ops", '
                '"nodes"]')
    arguments = dict(
        ops=data['ops'],
        nodes=data['nodes'],
        num_frames=data.get('num_frames', 8),
        ref_frame=data.get('ref_frame'),
        progression=data.get('progression', 'symmetric'))
    if version == 1:
        arguments.update(
            magnitudes=data.get('magnitudes', {}), node_aggregation='mean')
    else:
        arguments.update(
            node_aggregation=data.get('node_aggregation', 'sum'),
            magnitude_seed=data.get('magnitude_seed'),
            learned_magnitudes=data.get('learned_magnitudes', False))
    return arguments, version


def read_policy_json(path: str):
    """The JSON value of a policy file, with a :class:`PolicyError` naming the
    file when it cannot be read or parsed."""
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
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise PolicyError(
            f'policy file {path!r} is not valid JSON ({e.msg} at line '
            f'{e.lineno}, column {e.colno}); is it truncated?') from None


def write_policy_json(path: str, data: dict) -> None:
    """Write a policy's JSON object atomically (see
    :func:`das_mmseg.utils.io.atomic_write`)."""
    atomic_write(path, (json.dumps(data, indent=2) + '\n').encode('utf-8'))
