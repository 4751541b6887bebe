"""CPU and memory of the stack's processes over time, sampled with psutil in a thread beside the load."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Set, Tuple

import psutil

SAMPLE_SECONDS = 1.0


@dataclass
class Sample:
    at: float  # seconds since the sampler started
    cpu_seconds: Dict[str, float]  # user + system, cumulative, of the process and its children
    rss_mb: Dict[str, float]


def _family(process: psutil.Process, named: Set[int]) -> List[psutil.Process]:
    """The process and its descendants, less any sampled under a name of their own (and theirs): the load
    generator started the stack, whose servers are counted apart."""
    family, todo = [], [process]
    while todo:
        member = todo.pop()
        family.append(member)
        try:
            todo += [child for child in member.children() if child.pid not in named]
        except psutil.Error:
            continue
    return family


def _cpu_and_rss(process: psutil.Process, named: Set[int]) -> Tuple[float, float]:
    cpu = rss = 0.0
    family = _family(process, named)
    for member in family:
        try:
            times, memory = member.cpu_times(), member.memory_info()
        except psutil.Error:  # a child that just ended
            continue
        cpu += times.user + times.system
        rss += memory.rss / 2**20
    return cpu, rss


@dataclass
class Sampler:
    """Samples named processes every SAMPLE_SECONDS until stopped; `between` gives CPU use over a window."""
    pids: Dict[str, int]
    samples: List[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        processes = {name: psutil.Process(pid) for name, pid in self.pids.items()}
        start = time.monotonic()

        def loop() -> None:
            while not self._stop.is_set():
                taken = {name: _cpu_and_rss(p, set(self.pids.values())) for name, p in processes.items()}
                self.samples.append(Sample(time.monotonic() - start, {n: c for n, (c, _) in taken.items()},
                                           {n: r for n, (_, r) in taken.items()}))
                self._stop.wait(SAMPLE_SECONDS)
        self._thread = threading.Thread(target=loop, name="sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def mark(self) -> int:
        """An index to measure from (the samples taken so far)."""
        return len(self.samples)

    def window(self, start: int) -> List[Sample]:
        return self.samples[max(start - 1, 0):]


def cpu_seconds(window: List[Sample], name: str) -> float:
    return window[-1].cpu_seconds[name] - window[0].cpu_seconds[name] if len(window) > 1 else 0.0


def describe(window: List[Sample], every: float = 10.0) -> List[str]:
    """Per process: mean CPU (% of one core), peak memory, and CPU % in steps of `every` seconds."""
    if len(window) < 2:
        return ["  (too short to sample)"]
    elapsed = window[-1].at - window[0].at
    lines = []
    for name in window[0].cpu_seconds:
        series, last = [], window[0]
        for sample in window[1:]:
            if sample.at - last.at >= every or sample is window[-1]:
                series.append(f"{100 * (sample.cpu_seconds[name] - last.cpu_seconds[name]) / (sample.at - last.at):.0f}")
                last = sample
        peak = max(s.rss_mb[name] for s in window)
        lines.append(f"  {name:<14} CPU {100 * cpu_seconds(window, name) / elapsed:5.1f}% of a core, "
                     f"RSS peak {peak:6.0f} MB, start {window[0].rss_mb[name]:.0f} MB; "
                     f"CPU % per {every:.0f} s: {' '.join(series)}")
    return lines
