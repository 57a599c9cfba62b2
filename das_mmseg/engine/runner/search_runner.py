"""The runner a DAS config names: mmengine's, built from the config with its
search settings composed into its schedule (:mod:`.search_config`)."""
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .search_config import compose_search


@RUNNERS.register_module()
class DASSearchRunner(Runner):
    """mmengine's ``Runner``; :meth:`from_cfg` composes ``das_search`` first.

    The search bases (``configs/_base_/search/*.py``) set
    ``runner_type='DASSearchRunner'``, so mmengine's, mmseg's and
    mmpretrain's tools (``RUNNERS.build(cfg)``) and ours build this runner.
    Nothing of the runner itself differs: the composed config is the one the
    runner is built from, dumped to the work folder and read by every
    component, and its changes are logged in one line.

    Attributes:
        search_settings (str): Where the config stated the search settings:
            ``'das_search'`` when :meth:`from_cfg` composed them, else
            ``'train_cfg'`` (a dumped or hand-written config); the DAS loop's
            messages name the keys there.
    """

    search_settings = 'train_cfg'

    @classmethod
    def from_cfg(cls, cfg) -> 'Runner':
        """Build a runner from ``cfg`` with ``das_search`` composed (see
        :func:`compose_search`; a config without it is built as given)."""
        composed = compose_search(cfg)
        runner = super().from_cfg(composed)
        if composed is not cfg:
            runner.search_settings = 'das_search'
            runner.logger.info(
                'das_search composed into the schedule: train_cfg.type='
                f'{composed.train_cfg.type}, optim_wrapper.constructor='
                f'{composed.optim_wrapper.constructor}, param_scheduler per '
                'optimizer wrapper (model, policy)')
        return runner
