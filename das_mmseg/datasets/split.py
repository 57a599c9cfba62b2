"""A deterministic split of a training set into a weight part and a policy
part, for the bilevel DAS search.

The weights train on one part and the augmentation policy α on the other, so α
is chosen for how well augmented training generalises rather than how well it
fits the images the weights already see.
"""
import copy
from typing import List, Sequence, Tuple

import torch
from torch.utils.data import Dataset


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


class DatasetPart(Dataset):
    """A view of some samples of a dataset, with the dataset's ``metainfo``.

    Unlike ``BaseDataset.get_subset`` it works on every indexable dataset
    (dataset wrappers included) and copies nothing: a deep copy
    (``Runner.build_dataloader`` makes one of its config) shares the underlying
    dataset.

    Args:
        dataset (Dataset): The full dataset.
        indices (Sequence[int]): Indices of the samples in ``dataset``.
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)
        size = len(dataset)
        bad = [i for i in self.indices if not 0 <= i < size]
        if bad:
            raise IndexError(
                f'indices {bad[:5]} are out of range for a dataset of {size} '
                'samples')

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int):
        return self.dataset[self.indices[idx]]

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(self.indices[idx])

    def __deepcopy__(self, memo: dict) -> 'DatasetPart':
        return DatasetPart(self.dataset, self.indices)
