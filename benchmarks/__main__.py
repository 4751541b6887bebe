"""Run every benchmark in one process and print the figures: `python -m benchmarks [--folds K]`."""
from __future__ import annotations

import argparse
import logging
import time

from benchmarks import analytics, frustration, inbox, nlu, roundtrip
from benchmarks.stats import heading
from bot.runner import MODELS_DIR


def quiet_libraries() -> None:
    """Rasa logs every parse at debug level through structlog; a report wants only its figures."""
    import warnings

    import structlog

    logging.basicConfig(level=logging.WARNING)
    for noisy in ("rasa", "tensorflow", "absl"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    warnings.filterwarnings("ignore")


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
