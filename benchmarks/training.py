"""What a training costs the live bot: REST and widget round trips (p50/p95) with nothing else running, then while a
training job trains on the same cores, at idle priority (and, with --compare, at normal priority for contrast);
and how long the training took. `make bench-training` (minutes: each training is a real one).

The training is of a copy of the data with one new example (as a trainer teaching a phrase), so Rasa's cache
cannot skip it; the job is cancelled once its training stage is over (the evaluation is the job's own business).
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

from benchmarks.stats import heading, percentile, summary_ms
from benchmarks.widget import rest_client, widget_client
from bot.runner import Stack
from bot.settings import ROOT, Settings
from bot.training.jobs import TrainingJobs, copy_inputs
from bot.training.nlu_data import NluData

BENCH_REST_TOKEN = "bench-rest-token"  # noqa: S105 (a throwaway stack)
BENCH_ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 (a throwaway stack)
ROUND = 10  # round trips per client per sample round


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def one_round(stack: Stack) -> Tuple[List[float], List[float]]:
    rest = await rest_client(stack, ROUND)
    widget = await widget_client(stack, ROUND)
    return rest, widget


def sample(stack: Stack, until: object = None, rounds: int = 10) -> Dict[str, List[float]]:
    """Round trips, REST then widget, for `rounds` rounds, or while until() is true."""
    out: Dict[str, List[float]] = {"rest": [], "widget": []}
    done = 0
    while (until() if callable(until) else done < rounds):
        rest, widget = asyncio.run(one_round(stack))
        out["rest"] += rest
        out["widget"] += widget
        done += 1
    return out


def workspace(root: Path) -> Settings:
    copy_inputs(Settings(), root)  # the project's data, domain, config.yml and stories, laid out as a job's
    (root / "models").mkdir()
    shutil.copy2(ROOT / "models" / "current.tar.gz", root / "models" / "current.tar.gz")
    return Settings(rasa_port=free_port(), actions_port=free_port(), embedded_redis_port=free_port(),
                    console_port=free_port(), var_dir=root / "var", rest_token=BENCH_REST_TOKEN,
                    console_admin_password=BENCH_ADMIN_PASSWORD, widget_rate=100_000, widget_address_rate=100_000,
                    widget_session_rate=100_000, widget_max_connections_per_ip=1_000, demo_data=False,
                    models_dir=root / "models", train_data_dir=root / "data", train_domain_dir=root / "domain",
                    train_config=root / "config.yml", train_stories_dir=root / "stories")


def during_training(stack: Stack, settings: Settings, idle: bool) -> Tuple[Dict[str, List[float]], float]:
    """Round trips while a fresh training's train stage runs; the stage's seconds."""
    NluData(settings.train_data_dir, settings.train_domain_dir).add(
        "faq_gift_cards", f"voucher {uuid.uuid4().hex[:8]} question")  # new data: Rasa's cache cannot skip it
    jobs = TrainingJobs(settings, idle=idle)
    job = jobs.start("bench")
    with jobs.cancelled_on_exit(job.id, "bench"):  # Ctrl-C or an error: no `rasa train` left running
        started = time.monotonic()
        while jobs.status(job.id)["stage"] in ("queued", "validate"):
            time.sleep(0.2)
        trained_from = time.monotonic()
        figures = sample(stack, until=lambda: jobs.status(job.id)["stage"] == "train")
        seconds = time.monotonic() - trained_from
        print(f"  (validation took {trained_from - started:.0f} s)", flush=True)
        status = jobs.status(job.id)
    if status["stage"] == "failed":
        raise RuntimeError(f"the training failed: {status['error']}")
    return figures, seconds


def show(label: str, figures: Dict[str, List[float]], idle: Dict[str, List[float]]) -> None:
    for kind in ("rest", "widget"):
        ratio = percentile(figures[kind], 95) / percentile(idle[kind], 95)
        print(f"  {label:<28} {kind:<6} {summary_ms(figures[kind])}  p95 x{ratio:.2f} of idle")


def report(compare: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = workspace(Path(tmp))
        with Stack(settings, model=settings.models_dir) as stack:
            heading("A training beside the live bot: round trips idle vs while training (same stack, same cores)")
            sample(stack, rounds=2)  # warm-up
            idle = sample(stack)
            show("nothing else running", idle, idle)
            for low in ((True, False) if compare else (True,)):
                figures, seconds = during_training(stack, settings, idle=low)
                label = "training at idle priority" if low else "training at normal priority"
                show(label, figures, idle)
                print(f"  {label}: the train stage took {seconds:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training")
    parser.add_argument("--compare", action="store_true", help="also train at normal priority, for contrast")
    args = parser.parse_args()
    from benchmarks.__main__ import quiet_libraries

    quiet_libraries()
    report(args.compare)


if __name__ == "__main__":
    main()
