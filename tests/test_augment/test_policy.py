"""The policy format: round trip, atomic save, and a clear error for every bad
input."""
import json
import os

import pytest

from das_mmseg.augment import POLICY_VERSION, Policy, PolicyError

OPS = ['identity', 'shift_x', 'shift_y', 'zoom', 'rotate']


def policy_dict(**changes) -> dict:
    data = dict(
        version=POLICY_VERSION,
        ops=OPS,
        num_frames=8,
        ref_frame=4,
        progression='signed',
        node_aggregation='sum',
        magnitude_seed=1234,
        learned_magnitudes=False,
        nodes=[[
            dict(source=0, op='shift_x', magnitude=0.06),
            dict(source=1, op='zoom', magnitude=1.1)
        ],
               [
                   dict(source=2, op='rotate', magnitude=-12.5),
                   dict(source=0, op='identity')
               ]])
    data.update(changes)
    return data


def edge(node: int, index: int, **changes) -> dict:
    """policy_dict's nodes with one edge changed."""
    nodes = policy_dict()['nodes']
    nodes[node][index] = dict(nodes[node][index], **changes)
    return dict(nodes=nodes)


def test_round_trip_through_dict_and_file(tmp_path):
    policy = Policy.from_dict(policy_dict())
    assert policy.nodes == (((0, 'shift_x', 0.06), (1, 'zoom', 1.1)),
                            ((2, 'rotate', -12.5), (0, 'identity', None)))
    assert policy.magnitude_seed == 1234 and policy.node_aggregation == 'sum'
    assert Policy.from_dict(policy.to_dict()) == policy
    path = str(tmp_path / 'sub' / 'policy.json')
    policy.save(path)
    assert Policy.load(path) == policy
    assert json.load(open(path))['version'] == POLICY_VERSION
    assert Policy.coerce(path) == policy and Policy.coerce(
        policy.to_dict()) == policy


def test_save_is_atomic_and_replaces(tmp_path):
    path = str(tmp_path / 'policy.json')
    Policy.from_dict(policy_dict()).save(path)
    changed = Policy.from_dict(policy_dict(num_frames=4, ref_frame=1))
    changed.save(path)
    assert Policy.load(path).num_frames == 4
    # no temporary file left behind
    assert os.listdir(tmp_path) == ['policy.json']


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'policy.json')
    Policy.from_dict(policy_dict()).save(path)

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        Policy.from_dict(policy_dict(num_frames=4, ref_frame=1)).save(path)
    monkeypatch.undo()
    assert Policy.load(path).num_frames == 8
    assert os.listdir(tmp_path) == ['policy.json']


def test_default_reference_frame_is_the_middle():
    data = policy_dict(num_frames=5)
    del data['ref_frame']
    assert Policy.from_dict(data).ref_frame == 2


@pytest.mark.parametrize('changes,match', [
    (dict(ops=OPS + ['warp_drive']),
     r"'warp_drive'.*registered ops: \[.*'rotate'"),
    (dict(num_frames=0), r'num_frames must be an integer in \[1, 1024\], '
     r'got 0'),
    (dict(num_frames=10**6), r'num_frames must be an integer in \[1, 1024\]'),
    (dict(ref_frame=8), r'ref_frame must be an integer in \[0, 7\].*got 8'),
    (dict(ref_frame=-1), r'ref_frame .* got -1'),
    (dict(progression='backwards'),
     r"progression must be one of \('symmetric', 'signed'\), got 'backwards'"),
    (edge(0, 0, magnitude=0.6),
     r"node 0, edge from 0: magnitude of 'shift_x' is 0.6, outside its "
     r'bounds \[-0.25, 0.25\]'),
    (edge(0, 1,
          magnitude=3.0), r"'zoom' is 3.0, outside its bounds \[0.5, 1.5\]"),
    (edge(1, 0, magnitude=None), r"uses \['rotate'\] but gives no magnitude"),
    (edge(0, 0,
          magnitude='big'), r"'shift_x' must be a finite number, got 'big'"),
    (edge(0, 0, magnitude=float('nan')),
     r"'shift_x' must be a finite number, got nan"),
    (edge(1, 1, magnitude=1.0), r"op 'identity' takes no magnitude"),
    (edge(1, 1, size=3), r"unknown edge keys \['size'\]"),
    (dict(nodes=[[dict(source=0, op='brightness')]]),
     r"op 'brightness' is not in the policy's op set \['identity'"),
    (dict(nodes=[[dict(source=2, op='zoom', magnitude=1.1)]]),
     r'edge source 2 is not an earlier node; allowed sources are \[0, 1\]'),
    (dict(nodes=[[]]), r'node 0 must keep at least one edge'),
    (dict(nodes=[[dict(source=0, op='identity')]] * 33),
     r'"nodes" has 33 nodes, more than the limit of 32'),
    (dict(nodes=[[
        dict(source=0, op='zoom', magnitude=1.1),
        dict(source=0, op='shift_x', magnitude=0.1)
    ]]), r'each source may feed a node once'),
    (dict(node_aggregation='max'),
     r'"node_aggregation" must be one of \[\'sum\', \'mean\'\], got \'max\''),
    (dict(magnitude_seed=-3), r'"magnitude_seed" must be null or an integer'),
    (dict(magnitude_seed='7'), r'"magnitude_seed" .* got \'7\''),
    (dict(learned_magnitudes='no'),
     r'"learned_magnitudes" must be true or false, got \'no\''),
    (dict(version=7), r'unsupported policy version 7; supported: \[1, 2\]'),
    (dict(colour='red'), r"unknown keys \['colour'\] for a version-2 policy; "
     'allowed keys'),
    (dict(magnitudes=dict(zoom=1.1)),
     r"unknown keys \['magnitudes'\] for a version-2 policy"),
])
def test_bad_policies_name_the_value_and_the_allowed_ones(changes, match):
    with pytest.raises(PolicyError, match=match):
        Policy.from_dict(policy_dict(**changes))


def test_missing_keys():
    data = policy_dict()
    del data['nodes']
    with pytest.raises(PolicyError, match=r'no .nodes.; required keys'):
        Policy.from_dict(data)


def test_malformed_and_truncated_files(tmp_path):
    path = tmp_path / 'policy.json'
    text = json.dumps(policy_dict())
    path.write_text(text[:len(text) // 2])
    with pytest.raises(
            PolicyError,
            match=r'policy.json.*is not valid JSON .*line 1.*truncated'):
        Policy.load(str(path))
    path.write_text('[1, 2]')
    with pytest.raises(
            PolicyError, match='a policy is a JSON object, got list'):
        Policy.load(str(path))
    with pytest.raises(PolicyError, match='cannot read policy file'):
        Policy.load(str(tmp_path / 'missing.json'))


def test_policy_for_another_op_set_or_clip():
    policy = Policy.from_dict(policy_dict())
    policy.check_compatible(OPS, num_frames=8, ref_frame=4)
    with pytest.raises(
            PolicyError,
            match=(r"built for the op set \['identity'.*'rotate'\], not "
                   r"\['identity', 'zoom'\]")):
        policy.check_compatible(['identity', 'zoom'])
    with pytest.raises(
            PolicyError, match='makes 8-frame clips, not num_frames=4'):
        policy.check_compatible(OPS, num_frames=4)
    with pytest.raises(
            PolicyError, match='reference frame is 4, not ref_frame=3'):
        policy.check_compatible(OPS, num_frames=8, ref_frame=3)


def version1_dict(**changes) -> dict:
    data = dict(
        version=1,
        ops=OPS,
        num_frames=8,
        progression='signed',
        magnitudes=dict(shift_x=0.06, zoom=1.1, rotate=-12.5),
        nodes=[[dict(source=0, op='shift_x'),
                dict(source=1, op='zoom')],
               [dict(source=2, op='rotate'),
                dict(source=0, op='shift_x')]])
    data.update(changes)
    return data


def test_version_1_loads_with_a_warning_per_op_magnitudes_on_every_edge(
        tmp_path):
    path = tmp_path / 'v1.json'
    path.write_text(json.dumps(version1_dict()))
    with pytest.warns(
            UserWarning,
            match=r'version-1 policy.*old semantics.*'
            r"node_aggregation='mean'"):
        policy = Policy.load(str(path))
    assert policy.node_aggregation == 'mean'
    assert policy.nodes == (((0, 'shift_x', 0.06), (1, 'zoom', 1.1)),
                            ((2, 'rotate', -12.5), (0, 'shift_x', 0.06)))
    # saved again it is a version-2 file that keeps the mean aggregation
    again = Policy.from_dict(policy.to_dict())
    assert again == policy and again.to_dict()['version'] == 2
    # and version 1's errors stay as clear
    for changes, match in [
        (dict(magnitudes=dict(shift_x=0.06, zoom=1.1)),
         r"uses \['rotate'\] but gives no magnitude"),
        (dict(magnitudes=dict(shift_x=0.6, zoom=1.1, rotate=0.0)),
         r"'shift_x' is 0.6, outside its bounds"),
        (dict(magnitudes=dict(solarize=0.1, zoom=1.1, rotate=0.0)),
         r"'solarize', which is not in the op"),
        (dict(node_aggregation='sum'),
         r"unknown keys \['node_aggregation'\] for a version-1 policy"),
    ]:
        with pytest.raises(PolicyError, match=match):
            Policy.from_dict(version1_dict(**changes))
