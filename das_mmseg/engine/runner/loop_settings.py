"""The settings of a DAS train loop: checked once, when the loop is built,
and read as one value from then on."""
import copy
import inspect
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

from mmengine.optim import AmpOptimWrapper
from torch import nn

from ..arch_step import Unrolled

MODES = ('search_and_train', 'search', 'train')
# the config keys and the log's word for a position, per loop unit
UNITS = dict(
    iters=dict(search='search_iters', max='max_iters', at='iteration'),
    epochs=dict(search='search_epochs', max='max_epochs', at='epoch'))


def _checked_unrolled(name: str, key: str,
                      unrolled: Union[bool, dict]) -> Optional[dict]:
    """``unrolled`` (config key ``key``) as None (first order) or the keyword
    arguments of :class:`Unrolled`."""
    if isinstance(unrolled, bool):
        return {} if unrolled else None
    if isinstance(unrolled, dict):
        unknown = sorted(set(unrolled) - {'xi', 'eps'})
        if unknown:
            raise ValueError(f'{name}: {key} takes xi and eps, got '
                             f'{unknown}')
        try:
            Unrolled(None, None, **unrolled)
        except ValueError as e:
            raise ValueError(f'{name}: {key}: {e}') from None
        return dict(unrolled)
    raise ValueError(f'{name}: {key} must be True, False or '
                     f'dict(xi=..., eps=...), got {unrolled!r}')


@dataclass(frozen=True)
class DASLoopSettings:
    """What a DAS loop is configured to do (``train_cfg`` without the
    validation settings mmengine's loops read).

    Build it with :meth:`build`, which checks every value and names the bad
    one. Lengths are in the loop's ``unit``, ``'iters'`` or ``'epochs'``;
    ``search_length`` is 0 in mode ``'train'``. ``source`` is where the
    config stated the search settings, ``'das_search'`` (a search base,
    composed by ``DASSearchRunner``) or ``'train_cfg'``: messages name them
    there (:meth:`key`).
    """
    loop: str
    unit: str
    mode: str
    max_length: int
    search_length: int
    policy_interval: int
    retrain: bool
    policy_portion: float
    split_seed: int
    policy_dataloader: Optional[dict]
    policy_file: Optional[str]
    unrolled: Optional[dict]
    source: str = 'train_cfg'

    def key(self, name: str) -> str:
        """The config key of the search setting ``name``."""
        return f'{self.source}.{name}'

    @classmethod
    def setting_names(cls) -> Tuple[str, ...]:
        """The loops' search settings (``mode``, ``policy_interval``, ...):
        the keyword-only arguments of :meth:`build`, besides the lengths."""
        return tuple(
            name
            for name, param in inspect.signature(cls.build).parameters.items()
            if param.kind is inspect.Parameter.KEYWORD_ONLY)

    @classmethod
    def check_known(cls, loop: str, unit: str, settings: dict) -> None:
        """Refuse a ``train_cfg`` key the loop does not read (a typo would
        otherwise surface as Python's message about ``build``)."""
        known = list(cls.setting_names())
        unknown = sorted(set(settings) - set(known))
        if unknown:
            keys = UNITS[unit]
            raise TypeError(
                f'{loop}: train_cfg has no setting {unknown}; its settings '
                f'are {keys["max"]}, {keys["search"]}, val_begin, '
                f'val_interval, dynamic_intervals and {known}')

    @classmethod
    def build(cls,
              loop: str,
              unit: str,
              max_length: int,
              search_length: Optional[int],
              source: str = 'train_cfg',
              *,
              mode: str = 'search_and_train',
              policy_interval: int = 1,
              retrain: bool = True,
              policy_portion: float = 0.5,
              split_seed: int = 0,
              policy_dataloader: Optional[dict] = None,
              policy_file: Optional[str] = None,
              unrolled: Union[bool, dict] = False) -> 'DASLoopSettings':
        """Check the ``train_cfg`` values of the loop named ``loop``; the
        keyword arguments and their defaults are the loops' (see
        :class:`DASIterBasedTrainLoop`); ``source`` is where the config
        stated the search settings (see the class docstring).

        Raises:
            ValueError: A value out of range or of the wrong kind, or two
                that contradict each other; the message names them.
        """
        keys = UNITS[unit]
        name = loop

        def key(setting: str) -> str:
            return f'{source}.{setting}'

        unrolled = _checked_unrolled(name, key('unrolled'), unrolled)
        if mode not in MODES:
            raise ValueError(f'{name}: {key("mode")} must be one of {MODES}, '
                             f'but got {mode!r}')
        if not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f'{name}: train_cfg.{keys["max"]} must be an '
                             f'integer >= 1, but got {max_length!r}')
        if mode != 'train':
            if not isinstance(search_length, int) or search_length < 1:
                raise ValueError(
                    f'{name}: {key(keys["search"])} must be an integer >= 1 '
                    f'in mode {mode!r} (the length of the search), but got '
                    f'{search_length!r}')
            if not retrain and mode == 'search_and_train' and (search_length
                                                               > max_length):
                raise ValueError(
                    f'{name}: with {key("retrain")}=False, train_cfg.'
                    f'{keys["max"]}={max_length} counts the search too, but '
                    f'the search alone lasts {key(keys["search"])}='
                    f'{search_length}')
        if not isinstance(policy_interval, int) or policy_interval < 1:
            raise ValueError(
                f'{name}: {key("policy_interval")} must be an integer >= 1 '
                '(one α step every policy_interval iterations), but got '
                f'{policy_interval!r}')
        if not isinstance(retrain, bool):
            raise ValueError(f'{name}: {key("retrain")} must be True or '
                             f'False, but got {retrain!r}')
        if not 0.0 < policy_portion < 1.0:
            raise ValueError(f'{name}: {key("policy_portion")} must be in '
                             f'(0, 1), but got {policy_portion!r}')
        if policy_dataloader is not None and not isinstance(
                policy_dataloader, dict):
            raise ValueError(
                f'{name}: {key("policy_dataloader")} must be a dict '
                '(overrides of train_dataloader, or a dataloader config with '
                f'its own dataset), but got {policy_dataloader!r}')
        if policy_file is not None and mode != 'train':
            raise ValueError(
                f'{name}: {key("policy_file")} is only read in mode '
                f'"train", but mode is {mode!r} (policy_file={policy_file!r})')
        return cls(
            loop=loop,
            unit=unit,
            mode=mode,
            max_length=max_length,
            search_length=search_length if mode != 'train' else 0,
            policy_interval=policy_interval,
            retrain=retrain,
            policy_portion=policy_portion,
            split_seed=split_seed,
            policy_dataloader=copy.deepcopy(policy_dataloader),
            policy_file=policy_file,
            unrolled=unrolled,
            source=source)

    @property
    def searches(self) -> bool:
        """Whether the run has a search phase."""
        return self.mode != 'train'

    @property
    def total(self) -> int:
        """Length of the run, both phases."""
        if self.mode == 'train':
            return self.max_length
        if self.mode == 'search':
            return self.search_length
        if self.retrain:
            return self.search_length + self.max_length
        return self.max_length

    @property
    def train_begin(self) -> int:
        """Where the final model's schedule began: the switch with
        ``retrain=True``, else 0."""
        return self.search_length if self.searches and self.retrain else 0

    @property
    def restarts_after_search(self) -> bool:
        """Whether the weights restart from their initial state at the
        switch (and so the initial state must be kept)."""
        return self.mode == 'search_and_train' and self.retrain

    def validates(self, phase: str) -> bool:
        """Whether ``phase`` trains the final model (and is validated)."""
        if self.mode == 'search':
            return False
        return phase == 'train' or not self.retrain

    def words(self) -> dict:
        """The config keys and the log's word for a position in this unit:
        ``search``, ``max`` and ``at``."""
        return UNITS[self.unit]


def check_step_parts(settings: DASLoopSettings, policy_wrapper,
                     cell: nn.Module) -> None:
    """Refuse, before the first iteration, what the α and weight steps
    cannot run with: the second-order step under AMP, and architecture
    parameters that require grad outside the α step."""
    name = settings.loop
    if (settings.unrolled is not None and settings.searches
            and isinstance(policy_wrapper, AmpOptimWrapper)):
        raise ValueError(
            f'{name}: {settings.key("unrolled")} (the second-order α step) '
            'does not run under mixed precision (the policy wrapper is an '
            'AmpOptimWrapper, from --amp): its finite difference needs '
            'full-precision gradients; drop --amp or set '
            f'{settings.key("unrolled")}=False')
    if any(p.requires_grad for p in cell.arch_parameters()):
        raise RuntimeError(
            f'{name}: the clip cell\'s architecture parameters require '
            'grad outside its arch_grad() context; the weight steps '
            '(and DDP, which would wait for their gradients) must not '
            'see them')


def check_weight_schedule_ends(settings: DASLoopSettings, schedulers: Sequence,
                               run_iters: int, train_iters: int) -> None:
    """Refuse weight schedules that run past the training phase because
    mmengine filled in the loop's total as their ``end``.

    Args:
        settings (DASLoopSettings): The loop's settings.
        schedulers (list): The weights' parameter schedulers.
        run_iters (int): Iterations of the whole run.
        train_iters (int): Iterations of the training phase.
    """
    if not (settings.searches and settings.retrain):
        return
    for i, scheduler in enumerate(schedulers):
        if getattr(scheduler, 'by_epoch', False):
            if settings.unit != 'epochs':
                continue
            total, length, unit = (settings.total, settings.max_length,
                                   'epochs')
        else:
            total, length, unit = run_iters, train_iters, 'iterations'
        if getattr(scheduler, 'end', None) == total != length:
            raise ValueError(
                f'{settings.loop}: param_scheduler.model[{i}] '
                f'({type(scheduler).__name__}) ends after {total} {unit}'
                ', search and training together (mmengine\'s default '
                'end when none is set), but with retrain=True the '
                'weight schedule restarts after the search and lasts '
                f'the training phase, {length} {unit}: set its end '
                f'(train_cfg.{settings.words()["max"]}={settings.max_length})')
