"""Fixtures of the engine tests: ``cfg``, the smoke config as a DAS search,
and ``batches``, two batches of two real training crops of it
(test_optim_wrapper_constructor, test_arch_step)."""
import numpy as np
import pytest
from fixtures import search_cfg
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, init_default_scope


@pytest.fixture(scope='module')
def cfg():
    return search_cfg('unused')


@pytest.fixture(scope='module')
def batches(cfg):
    """Two batches of two real training crops."""
    init_default_scope('mmseg')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    np.random.seed(0)
    return [
        pseudo_collate([dataset[i] for i in pair]) for pair in ((0, 1), (2, 3))
    ]
