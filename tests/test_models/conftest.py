"""Fixtures of the model tests: `batch`, two real CamVid images
(test_clip_segmentor, test_dtype_device; test_clip_classifier has its own)."""
import os.path as osp

import pytest
from fixtures import ROOT
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS


@pytest.fixture(scope='module')
def batch():
    """Two real CamVid validation images with labels, resized to 64x80 and
    packed (uint8, BGR)."""
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='CamVidDataset',
            data_root=osp.join(ROOT, 'data/camvid_sample'),
            data_prefix=dict(
                img_path='img_dir/val', seg_map_path='ann_dir/val'),
            indices=2,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='Resize', scale=(80, 64), keep_ratio=False),
                dict(type='PackSegInputs')
            ]))
    return pseudo_collate([dataset[0], dataset[1]])
