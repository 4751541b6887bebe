"""Run every benchmark in one process and print the figures: `python -m benchmarks [--folds K]`."""
from __future__ import annotations

import argparse
import time

from benchmarks import analytics, frustration, inbox, nlu, roundtrip
from benchmarks.stats import heading
from bot.runner import MODELS_DIR
from bot.training.evaluate import quiet_libraries


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--folds", type=int, default=3, help="cross-validation folds (default 3)")
    parser.add_argument("--messages", type=int, default=200, help="round trips per kind (default 200)")
    args = parser.parse_args()
    quiet_libraries()
    started = time.perf_counter()
    frustration.report()
    nlu.report(args.folds, MODELS_DIR / "current.tar.gz")
    roundtrip.report(args.messages)
    analytics.report()
    inbox.report()
    heading("done")
    print(f"  benchmarks took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
