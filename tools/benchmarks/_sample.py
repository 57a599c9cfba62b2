"""What several benchmarks share: a config's training set on the bundled
sample, ready to draw batches from."""
import os.path as osp
from typing import Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_train_set(config: str, device: torch.device) -> Tuple[Config, object]:
    """The config (its search composed, as the runner reads it; adapted to
    the CPU when ``device`` is one) and its training dataset, seeded for
    repeatable runs.

    The dataset root is taken relative to the repository, so a benchmark runs
    from any working directory.
    """
    from mmseg.registry import DATASETS

    import das_mmseg  # noqa: F401  registers the components
    from das_mmseg.engine import compose_search
    from das_mmseg.launch import adapt_to_cpu

    cfg = compose_search(Config.fromfile(config))
    cfg.train_dataloader.dataset.data_root = osp.join(
        ROOT, cfg.train_dataloader.dataset.data_root)
    if device.type != 'cuda':
        adapt_to_cpu(cfg)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return cfg, DATASETS.build(cfg.train_dataloader.dataset)
