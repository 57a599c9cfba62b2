"""Where a DAS loop's batches come from: the weight part and the policy part
of a seeded split of the training set, the whole set, and endless streams
over them."""
import copy
from typing import Optional, Tuple, Union

from mmengine.dist import get_world_size
from torch.utils.data import DataLoader

from .loop_settings import DASLoopSettings


def set_sampler_epoch(loader: DataLoader, epoch: int) -> None:
    """Tell the loader's sampler which pass this is (its shuffling seed)."""
    sampler = getattr(loader, 'sampler', None)
    if not hasattr(sampler, 'set_epoch'):
        sampler = getattr(
            getattr(loader, 'batch_sampler', None), 'sampler', None)
    if hasattr(sampler, 'set_epoch'):
        sampler.set_epoch(epoch)


class EndlessBatches:
    """The batches of a dataloader without end: when a finite sampler's pass
    ends, the next pass starts (``set_epoch(pass)``).

    Args:
        loader (DataLoader): The dataloader.
        skip (int): Batches to draw and drop first, to replay a stream after
            a resume exactly (the data workers are seeded per worker, so the
            batches and their random augmentations repeat).
    """

    def __init__(self, loader: DataLoader, skip: int = 0) -> None:
        self.loader = loader
        self.passes = 0
        set_sampler_epoch(loader, 0)
        self._iterator = iter(loader)
        for _ in range(skip):
            next(self)

    def __iter__(self) -> 'EndlessBatches':
        return self

    def __next__(self):
        try:
            return next(self._iterator)
        except StopIteration:
            self.passes += 1
            set_sampler_epoch(self.loader, self.passes)
            self._iterator = iter(self.loader)
            return next(self._iterator)


def part_dataloader_cfgs(
    settings: DASLoopSettings, dataloader: Union[DataLoader, dict]
) -> Tuple[object, Optional[dict], Optional[dict]]:
    """The configs of the training phase's loader, the weight part's and the
    policy part's (None where the training phase's loader serves).

    Args:
        settings (DASLoopSettings): The loop's settings.
        dataloader (DataLoader | dict): ``train_dataloader``, the whole set.
    """
    if not settings.searches:
        return dataloader, None, None
    if not isinstance(dataloader, dict):
        raise TypeError(
            f'{settings.loop} builds the weight and policy parts '
            'of the training set itself: train_dataloader must be a '
            f'config dict, but got a {type(dataloader).__name__}')
    whole = copy.deepcopy(dataloader)
    overrides = copy.deepcopy(settings.policy_dataloader or {})
    policy = copy.deepcopy(whole)
    policy.update(overrides)
    if 'dataset' in overrides:
        # a separate policy set: every training sample trains the
        # weights; the search draws them from a loader of its own, so
        # that the training phase starts its own stream afresh
        weight = copy.deepcopy(whole) if settings.retrain else None
    else:
        weight = copy.deepcopy(whole)
        for part, cfg in (('weight', weight), ('policy', policy)):
            cfg['dataset'] = dict(
                type='DatasetSplit',
                dataset=copy.deepcopy(whole['dataset']),
                part=part,
                policy_portion=settings.policy_portion,
                seed=settings.split_seed)
    if settings.retrain or weight is None:
        return whole, weight, policy
    # warm start: the weights train on their part throughout
    return weight, None, policy


def build_part_loaders(
        runner, settings: DASLoopSettings, train_loader: DataLoader,
        weight_cfg: Optional[dict],
        policy_cfg: Optional[dict]) -> Tuple[DataLoader, Optional[DataLoader]]:
    """The weight part's loader (``train_loader`` where it serves) and the
    policy part's, built as the runner builds its own; each must hold one
    batch per rank.

    Raises:
        ValueError: A part holds fewer samples than one batch on every rank.
    """
    randomness = runner.cfg.get('randomness') or {}
    build = dict(
        seed=runner.seed,
        diff_rank_seed=randomness.get('diff_rank_seed', False))
    weight_loader = (
        runner.build_dataloader(weight_cfg, **build)
        if weight_cfg is not None else train_loader)
    policy_loader = (
        runner.build_dataloader(policy_cfg, **build)
        if policy_cfg is not None else None)
    world = get_world_size()
    parts = [('train_dataloader', train_loader)]
    if settings.searches:
        parts += [('weight part', weight_loader),
                  ('policy part', policy_loader)]
    for part, loader in parts:
        if len(loader.dataset) < loader.batch_size * world:
            raise ValueError(
                f'{settings.loop}: the {part} holds '
                f'{len(loader.dataset)} samples, fewer than one batch '
                f'(batch_size {loader.batch_size} x {world} ranks); use a '
                'larger training set or another '
                f'{settings.key("policy_portion")} (now '
                f'{settings.policy_portion}), or a smaller batch')
    return weight_loader, policy_loader
