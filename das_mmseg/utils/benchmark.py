"""Side-by-side measurement for ``tools/benchmark.py``.

Times several candidates interleaved (A B C A B C ...) after a warm-up, so a
machine that slows down mid-run slows all of them alike, and reports medians
and ratios to the first candidate (the baseline). Absolute times mean something
only on a dedicated GPU; on a shared CPU read the ratios.
"""
import json
import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional

import torch


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every
    ``interval`` seconds (Linux, CPU runs).

    An approximation: the allocator may keep freed pages, so a candidate run
    after a larger one can read low.
    """

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._page = (
            os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096)

    def _rss(self) -> int:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * self._page

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._rss() - self._base)
            time.sleep(self.interval)

    def __enter__(self) -> 'PeakRSS':
        self._base = self._rss()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._rss() - self._base)


@dataclass
class Comparison:
    """Figures of one side-by-side measurement."""
    name: str
    device: str
    seconds: Dict[str, float]  # median seconds per call
    ratios: Dict[str, float]  # median time / baseline's median time
    peak_memory_mb: Dict[str, Optional[float]]
    baseline: str
    settings: Dict[str, object] = field(default_factory=dict)

    def table(self) -> str:
        width = max(len(n) for n in self.seconds) + 2
        rows = [
            f'== {self.name} ({self.device}; ' +
            ', '.join(f'{k}={v}' for k, v in self.settings.items()) + ')',
            f'{"candidate":<{width}}{"median s":>12}'
            f'{"ratio":>9}{"peak MB":>10}'
        ]
        for n, s in self.seconds.items():
            mem = self.peak_memory_mb.get(n)
            rows.append(f'{n:<{width}}{s:>12.5f}{self.ratios[n]:>8.2f}x'
                        f'{(f"{mem:.1f}" if mem is not None else "-"):>10}')
        return '\n'.join(rows)

    def to_dict(self) -> dict:
        return asdict(self)


def compare(name: str,
            candidates: Dict[str, Callable[[], object]],
            device: torch.device,
            warmup: int = 2,
            repeats: int = 10,
            settings: Optional[dict] = None) -> Comparison:
    """Time ``candidates`` interleaved; the first one is the baseline of the
    ratios.

    Args:
        name (str): What is measured, for the table's title.
        candidates (dict[str, callable]): Zero-argument callables, each one
            iteration of a candidate.
        device (torch.device): Where they run; CUDA is synchronised around each
            call.
        warmup (int): Untimed calls of each candidate first.
        repeats (int): Timed calls of each candidate.
        settings (dict, optional): Shapes and options, printed and kept in the
            JSON.

    Returns:
        Comparison: medians, ratios and peak memory per candidate.
    """
    if not candidates:
        raise ValueError('compare() needs at least one candidate')
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    synchronize(device)
    times: Dict[str, List[float]] = {n: [] for n in candidates}
    peaks: Dict[str, Optional[float]] = {n: 0.0 for n in candidates}
    for _ in range(repeats):
        for n, fn in candidates.items():
            if device.type == 'cuda':
                torch.cuda.reset_peak_memory_stats(device)
                base = torch.cuda.memory_allocated(device)
            probe = PeakRSS() if device.type == 'cpu' and os.path.exists(
                '/proc/self/statm') else None
            synchronize(device)
            start = time.perf_counter()
            if probe is not None:
                with probe:
                    fn()
            else:
                fn()
            synchronize(device)
            times[n].append(time.perf_counter() - start)
            if device.type == 'cuda':
                peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
            elif probe is not None:
                peak = probe.peak_bytes / 2**20
            else:
                peak = None
            peaks[n] = None if peak is None else max(peaks[n] or 0.0, peak)
    seconds = {n: statistics.median(t) for n, t in times.items()}
    baseline = next(iter(candidates))
    ratios = {n: s / seconds[baseline] for n, s in seconds.items()}
    dev = torch.cuda.get_device_name(
        device
    ) if device.type == 'cuda' else f'cpu x{torch.get_num_threads()} threads'
    return Comparison(name, dev, seconds, ratios, peaks, baseline,
                      dict(settings or {}, warmup=warmup, repeats=repeats))


def report(comparisons: List[Comparison], as_json: bool) -> str:
    """A readable table per comparison, or one JSON object holding all of
    them."""
    if as_json:
        return json.dumps({c.name: c.to_dict() for c in comparisons}, indent=2)
    return '\n\n'.join(c.table() for c in comparisons)
