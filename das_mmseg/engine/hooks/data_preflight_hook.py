"""Check a run's data files before the first iteration."""
from typing import Sequence

from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from das_mmseg.datasets.checks import DataCheckError
from das_mmseg.datasets.preflight import preflight_split, problems_message

SPLITS = ('train', 'val', 'test')


@HOOKS.register_module()
class DataPreflightHook(Hook):
    """Refuse to start a run whose data holds files it cannot use.

    Before training, the training split is checked at header depth and the
    val and test splits completely (:mod:`das_mmseg.datasets.preflight`): a
    bad label in the val split stops the run before the first iteration
    instead of at the first evaluation, hours later. Before testing
    (``tools/test.py``), the test split is checked completely. Under DDP each
    rank checks every ``world_size``-th sample. The hook only reads files.

    ``_base_/default_runtime.py`` adds it as ``default_hooks.data_preflight``;
    ``default_hooks.data_preflight=None`` turns it off.

    Args:
        full_splits (sequence of str): Splits decoded completely.
            Defaults to ('val', 'test').
        header_splits (sequence of str): Splits checked at header depth.
            Defaults to ('train', ).
    """

    priority = 'HIGH'

    def __init__(
        self,
        full_splits: Sequence[str] = ('val', 'test'),
        header_splits: Sequence[str] = ('train', )
    ) -> None:
        for split in (*full_splits, *header_splits):
            if split not in SPLITS:
                raise ValueError(
                    f'DataPreflightHook: unknown split {split!r}; the splits '
                    f'are {SPLITS}')
        self.full_splits = tuple(full_splits)
        self.header_splits = tuple(s for s in header_splits
                                   if s not in full_splits)
        self._checked = set()

    def _check(self, runner, split: str, full: bool) -> None:
        cfg = runner.cfg
        loader = cfg.get(f'{split}_dataloader')
        # test_dataloader = val_dataloader: one dataset, checked once
        key = repr((loader or {}).get('dataset'))
        if key in self._checked:
            return
        self._checked.add(key)
        rank, world_size = get_dist_info()
        problems, checked = preflight_split(cfg, split, full, rank, world_size)
        if problems:
            raise DataCheckError(
                problems_message(split, problems,
                                 getattr(cfg, 'filename', None) or 'CONFIG'))
        if checked:
            runner.logger.info(
                f'DataPreflightHook: {split} split: {checked} samples '
                f'checked ({"decoded" if full else "headers"}), no problem')

    def before_train(self, runner) -> None:
        for split in self.header_splits:
            if split == 'train':
                self._check(runner, split, full=False)
        for split in self.full_splits:
            # a split the run has no loop for is not read by it
            if split == 'train' or runner.cfg.get(f'{split}_cfg'):
                self._check(runner, split, full=True)

    def before_test(self, runner) -> None:
        if 'test' in self.full_splits:
            self._check(runner, 'test', full=True)
