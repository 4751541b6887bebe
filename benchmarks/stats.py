"""Small helpers shared by the benchmarks."""
from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from typing import Iterator, List, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The same interpolated percentile the analytics dashboard reports, unrounded; NaN for no values."""
    from bot.touchpoints.analytics import quantile

    value = quantile(values, q)
    return float("nan") if value is None else value


def summary_ms(samples: Sequence[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, mean {statistics.mean(ms):.1f} ms (n={len(ms)})"


@contextmanager
def timed(into: List[float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    into.append(time.perf_counter() - start)


def heading(title: str) -> None:
    print(f"\n== {title} ==", flush=True)
