"""tools/analysis_tools/compare_clips.py: whether two policies give the
backbone the same input, value for value."""
import json
import os.path as osp

import pytest
from fixtures import ROOT, load_tool

from das_mmseg.augment import Policy

DEMO = osp.join(
    ROOT, 'configs', 'das',
    'das-pspnet_gsf-r18tiny-d16-t4_1xb4-300iter_camvid-sample-96x96.py')
OPS = ('identity', 'shift_x', 'shift_y', 'zoom', 'rotate')


def policy_file(tmp_path, name, nodes):
    path = str(tmp_path / f'{name}.json')
    Policy(ops=OPS, nodes=nodes, num_frames=4).save(path)
    return path


def test_identity_clips_compared_value_for_value(tmp_path):
    direct = [[(0, 'identity'), (1, 'identity')]] * 4
    # the same clip in exact arithmetic, summed through intermediate nodes
    routed = [[(0, 'identity'), (1, 'identity')],
              [(1, 'identity'), (2, 'identity')],
              [(0, 'identity'), (3, 'identity')],
              [(0, 'identity'), (2, 'identity')]]
    shifted = [[(0, 'shift_x', 0.1), (1, 'identity')]] * 4
    files = [
        policy_file(tmp_path, name, nodes)
        for name, nodes in (('direct', direct), ('again', direct),
                            ('routed', routed), ('shifted', shifted))
    ]
    assert Policy.load(files[2]).is_identity()
    out = str(tmp_path / 'compared.json')
    # the first two images of the bundled sample's val split
    result = load_tool('tools/analysis_tools/compare_clips.py').main(
        [DEMO, *files, '--out', out])
    assert len(result['images']) == 2
    again, routed_row, shifted_row = result['policies']
    assert again['bit_equal'] and again['values_differing'] == 0
    # float rounding only: far below one grey level (1/58 in these units)
    assert routed_row['max_abs_difference'] < 1e-5
    assert not shifted_row['bit_equal']
    assert shifted_row['max_abs_difference'] > 0.1
    assert json.loads(open(out).read()) == json.loads(json.dumps(result))


def test_a_model_without_a_clip_cell_is_refused(tmp_path):
    baseline = osp.join(
        ROOT, 'configs', 'das',
        'pspnet_r18tiny-d16_1xb4-300iter_camvid-sample-96x96.py')
    path = policy_file(tmp_path, 'direct', [[(0, 'identity'),
                                             (1, 'identity')]] * 4)
    with pytest.raises(ValueError, match='builds no clip cell'):
        load_tool('tools/analysis_tools/compare_clips.py').main(
            [baseline, path])
