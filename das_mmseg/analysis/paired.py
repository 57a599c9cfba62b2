"""Paired comparisons of experiment arms: per-arm summaries and paired
differences with Student-t confidence intervals.

A *result* is one finished run, a dict with at least ``arm``, ``seed``,
``machine`` and the metric (``mIoU``). Two arms are compared only over the
seeds both ran *on the same machine*: runs of one seed on different machines
are not pairs (the same seed gave a different policy and up to 3.6 mIoU on
another machine of the same kind; ``shared/DESIGN.md`` §6).
"""
import math
from dataclasses import dataclass
from statistics import mean, stdev
from typing import Dict, Iterable, List, Optional, Sequence, Tuple


def t_quantile(probability: float, df: int) -> float:
    """The ``probability`` quantile of Student's t with ``df`` degrees of
    freedom (scipy, a dependency of mmseg)."""
    if df < 1:
        raise ValueError(f'a t quantile needs df >= 1, got {df}')
    from scipy.stats import t
    return float(t.ppf(probability, df))


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation (ddof 1) of ``n`` values; ``std``
    is None for one value."""
    n: int
    mean: float
    std: Optional[float]

    def __str__(self) -> str:
        if self.std is None:
            return f'{self.mean:.2f}'
        return f'{self.mean:.2f} ± {self.std:.2f}'


def summarize(values: Sequence[float]) -> Summary:
    values = list(values)
    if not values:
        raise ValueError('no values to summarize')
    std = stdev(values) if len(values) > 1 else None
    return Summary(len(values), mean(values), std)


@dataclass(frozen=True)
class PairedDifference:
    """``first - second`` over ``n`` paired seeds.

    Attributes:
        seeds (tuple[int]): The seeds of the pairs.
        mean (float): Mean of the per-seed differences.
        std (float | None): Their sample standard deviation (None: n = 1).
        low, high (float | None): The two-sided ``confidence`` interval of
            the mean difference, ``mean ± t(1 - (1 - confidence) / 2, n - 1)
            * std / sqrt(n)`` (None: n < 2).
    """
    first: str
    second: str
    seeds: Tuple[int, ...]
    mean: float
    std: Optional[float]
    low: Optional[float]
    high: Optional[float]
    confidence: float = 0.95

    @property
    def n(self) -> int:
        return len(self.seeds)

    def verdict(self) -> str:
        """What the interval supports: one arm above the other only where it
        excludes 0."""
        if self.low is None:
            return 'too few pairs'
        if self.low > 0:
            return f'{self.first} > {self.second}'
        if self.high < 0:
            return f'{self.first} < {self.second}'
        return 'not resolved (interval contains 0)'


def paired_difference(first: str,
                      second: str,
                      values_first: Dict[int, float],
                      values_second: Dict[int, float],
                      confidence: float = 0.95) -> Optional[PairedDifference]:
    """The paired difference of two arms over the seeds both have (per seed
    values, e.g. mIoU); None when they share no seed."""
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence}')
    seeds = tuple(sorted(set(values_first) & set(values_second)))
    if not seeds:
        return None
    diffs = [values_first[s] - values_second[s] for s in seeds]
    centre = mean(diffs)
    if len(diffs) < 2:
        return PairedDifference(first, second, seeds, centre, None, None, None,
                                confidence)
    std = stdev(diffs)
    half = t_quantile(1 - (1 - confidence) / 2,
                      len(diffs) - 1) * std / math.sqrt(len(diffs))
    return PairedDifference(first, second, seeds, centre, std, centre - half,
                            centre + half, confidence)


def per_seed(results: Iterable[dict],
             arm: str,
             machine: str,
             metric: str = 'mIoU') -> Dict[int, float]:
    """One value per seed of ``arm`` on ``machine``: the mean over the
    seed's runs (an arm may run several draws per seed, e.g. random
    policies)."""
    by_seed: Dict[int, List[float]] = {}
    for r in results:
        if r['arm'] == arm and r['machine'] == machine:
            by_seed.setdefault(int(r['seed']), []).append(float(r[metric]))
    return {s: mean(v) for s, v in by_seed.items()}


def machines_by_size(results: Iterable[dict]) -> List[str]:
    """The machines of the results, the one with most runs first."""
    counts: Dict[str, int] = {}
    for r in results:
        counts[r['machine']] = counts.get(r['machine'], 0) + 1
    return sorted(counts, key=lambda m: (-counts[m], m))
