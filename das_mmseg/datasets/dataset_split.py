"""A deterministic split of a training set into a weight part and a policy
part, for the bilevel DAS search.

The weights train on one part and the augmentation policy (α) on the other,
so α is chosen for how well augmented training generalises rather than how
well it fits the images the weights already see (DARTS' 50/50 split).
"""
import copy
from typing import List, Tuple, Union

import torch
from mmengine.dataset import force_full_init
from mmengine.registry import DATASETS
from torch.utils.data import Dataset

SPLIT_PARTS = ('weight', 'policy')
# Wrappers that repeat samples: split, the same image would land in both parts
REPEATING_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')


def split_indices(num_samples: int,
                  policy_portion: float = 0.5,
                  seed: int = 0) -> Tuple[List[int], List[int]]:
    """Split ``range(num_samples)`` at random, reproducibly, into a weight part
    and a policy part.

    The permutation comes from a private ``torch.Generator`` seeded with
    ``seed``: the same on every rank, machine and run, and independent of the
    global random state.

    Args:
        num_samples (int): Size of the training set.
        policy_portion (float): Fraction of the samples in the policy part, in
            (0, 1); the policy part holds
            ``round(num_samples * policy_portion)`` samples.
        seed (int): Seed of the permutation.

    Returns:
        tuple[list[int], list[int]]: Sorted indices of the weight part and of
        the policy part.

    Raises:
        ValueError: ``policy_portion`` outside (0, 1), or a part that would be
            empty.
    """
    if not 0.0 < policy_portion < 1.0:
        raise ValueError(
            f'policy_portion must be in (0, 1), but got {policy_portion}')
    num_policy = int(round(num_samples * policy_portion))
    if not 0 < num_policy < num_samples:
        raise ValueError(
            f'a training set of {num_samples} samples split with '
            f'policy_portion={policy_portion} leaves {num_policy} policy and '
            f'{num_samples - num_policy} weight samples; both parts need at '
            'least one sample')
    order = torch.randperm(
        num_samples, generator=torch.Generator().manual_seed(seed)).tolist()
    return sorted(order[num_policy:]), sorted(order[:num_policy])


@DATASETS.register_module()
class DatasetSplit:
    """One part of a seeded split of a dataset: the weight part or the policy
    part of the DAS search.

    A dataset wrapper like mmengine's ``ConcatDataset``: registered in
    mmengine's root ``DATASETS`` (so every OpenMMLab scope, mmseg's and
    mmpretrain's, finds it) and usable from a config::

        train_dataloader = dict(
            dataset=dict(type='DatasetSplit', part='weight',
                         policy_portion=0.5, seed=0,
                         dataset=dict(type='CamVidDataset', ...)))

    The two parts of the same ``dataset``, ``policy_portion`` and ``seed`` are
    disjoint and together hold every sample (:func:`split_indices`).

    Args:
        dataset (Dataset | dict): The dataset to split, or its config.
        part (str): ``'weight'`` or ``'policy'``.
        policy_portion (float): Fraction of the samples in the policy part, in
            (0, 1).
        seed (int): Seed of the split, the same on every rank.
        lazy_init (bool): Defer loading the dataset's annotations (and the
            split) to the first access, as mmengine's wrappers.

    Raises:
        ValueError: A ``part`` other than ``'weight'``/``'policy'``, or a
            split that leaves a part empty.
        TypeError: ``dataset`` repeats samples (``RepeatDataset``,
            ``ClassBalancedDataset``): split the dataset inside it instead.
    """

    def __init__(self,
                 dataset: Union[Dataset, dict],
                 part: str = 'weight',
                 policy_portion: float = 0.5,
                 seed: int = 0,
                 lazy_init: bool = False) -> None:
        if part not in SPLIT_PARTS:
            raise ValueError(f'DatasetSplit: part must be one of '
                             f'{SPLIT_PARTS}, but got {part!r}')
        if not 0.0 < policy_portion < 1.0:
            raise ValueError('DatasetSplit: policy_portion must be in (0, 1),'
                             f' but got {policy_portion!r}')
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        if type(dataset).__name__ in REPEATING_WRAPPERS:
            raise TypeError(
                f'DatasetSplit cannot split a {type(dataset).__name__}: it '
                'repeats samples, so the same image would land in both '
                'parts; split the dataset it wraps and wrap the part instead')
        self.dataset = dataset
        self.part = part
        self.policy_portion = policy_portion
        self.seed = seed
        self.indices: List[int] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        """Load the wrapped dataset's annotations and draw the split."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        weight, policy = split_indices(
            len(self.dataset), self.policy_portion, self.seed)
        self.indices = weight if self.part == 'weight' else policy
        self._fully_initialized = True

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information (a copy)."""
        return copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

    @force_full_init
    def __len__(self) -> int:
        return len(self.indices)

    @force_full_init
    def __getitem__(self, idx: int):
        return self.dataset[self.indices[idx]]

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The annotation of sample ``idx`` of this part."""
        return self.dataset.get_data_info(self.indices[idx])

    def __repr__(self) -> str:
        size = len(self.indices) if self._fully_initialized else '?'
        return (f'DatasetSplit(part={self.part!r}, '
                f'policy_portion={self.policy_portion}, seed={self.seed}, '
                f'{size} of {type(self.dataset).__name__})')
