"""``split_indices`` and ``DatasetSplit``: the seeded split of a dataset into
the part that trains the weights and the part that trains the policy, as a
dataset wrapper a config can name."""
import pytest
import torch
from fixtures import SAMPLE
from mmengine.registry import DATASETS, init_default_scope

import das_mmseg  # noqa: F401
from das_mmseg.datasets import DatasetSplit, split_indices

CAMVID = dict(
    type='CamVidDataset',
    data_root=SAMPLE,
    data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
    serialize_data=False,
    pipeline=[])


def test_split_indices_are_seeded_disjoint_and_complete():
    weight, policy = split_indices(48, 0.5, seed=0)
    assert (weight, policy) == split_indices(48, 0.5, seed=0)
    assert split_indices(48, 0.5, seed=1) != (weight, policy)
    assert len(policy) == 24 and sorted(weight + policy) == list(range(48))
    assert len(split_indices(48, 0.25, seed=0)[1]) == 12
    # independent of the global random state
    torch.manual_seed(123)
    assert split_indices(48, 0.5, seed=0) == (weight, policy)
    with pytest.raises(
            ValueError, match=r'policy_portion must be in \(0, 1\).*1\.5'):
        split_indices(48, 1.5)
    with pytest.raises(ValueError, match=r'leaves 0 policy and 3 weight'):
        split_indices(3, 0.1)


def test_dataset_split_is_a_registered_wrapper_usable_from_a_config():
    init_default_scope('mmseg')
    parts = {
        part:
        DATASETS.build(dict(type='DatasetSplit', dataset=CAMVID, part=part))
        for part in ('weight', 'policy')
    }
    weight, policy = split_indices(48, 0.5, seed=0)
    assert parts['weight'].indices == weight
    assert parts['policy'].indices == policy
    paths = {
        part: {split.get_data_info(i)['img_path']
               for i in range(len(split))}
        for part, split in parts.items()
    }
    assert len(paths['weight']) == len(paths['policy']) == 24
    assert not paths['weight'] & paths['policy']
    assert parts['policy'][3]['img_path'] == parts[
        'policy'].dataset.get_data_info(policy[3])['img_path']
    assert parts['weight'].metainfo['classes'][0] == 'sky'

    lazy = DatasetSplit(
        CAMVID | dict(lazy_init=True),
        part='policy',
        seed=3,
        policy_portion=0.25,
        lazy_init=True)
    assert lazy.indices == [] and len(lazy) == 12
    assert lazy.indices == split_indices(48, 0.25, seed=3)[1]


def test_dataset_split_guards():
    with pytest.raises(ValueError, match=r"part must be one of .*'both'"):
        DatasetSplit(CAMVID, part='both')
    with pytest.raises(ValueError, match=r'policy_portion must be .*got 1'):
        DatasetSplit(CAMVID, policy_portion=1)
    init_default_scope('mmseg')
    with pytest.raises(TypeError, match=r'cannot split a RepeatDataset'):
        DatasetSplit(dict(type='RepeatDataset', times=2, dataset=CAMVID))
