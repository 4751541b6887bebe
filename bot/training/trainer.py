"""The training job's own process (`python -m bot train-job --job DIR`): validate -> train -> conversation tests ->
blind sets -> cross-validation (if asked) -> done | failed, each stage written to DIR/status.json.

It runs at idle CPU priority (nice 19 and SCHED_IDLE, set before anything heavy is imported; Rasa's processes
inherit both), so the live bot on the same cores keeps answering while it trains.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Any, Deque, Dict, Optional, Tuple

from bot.training.jobs import CANDIDATES, now_iso, read_json, write_json

LOG_TAIL = 20
STAGE_SPAN: Dict[str, Tuple[float, float]] = {  # each stage's share of the progress bar
    "validate": (0.0, 0.05), "train": (0.05, 0.7), "conversations": (0.7, 0.8), "blind": (0.8, 0.95),
    "cross_validation": (0.95, 1.0),
}
STARTED_COMPONENT = re.compile(r"Starting to train component '(\w+)'")
FINISHED_COMPONENT = re.compile(r"(?:Finished training|Restored) component '(\w+)'")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WORTH_SHOWING = re.compile(r"^\d{4}-\d\d-\d\d \S+ (?:INFO|WARNING|ERROR)|^validation:|Error|error:|Your Rasa model|^Epochs")
EPOCHS = re.compile(r"Epochs:\s+(\d+)%")
COMPONENTS_FILE = "components"  # in the jobs folder: how many components the last training trained


def idle_priority() -> None:
    """The lowest CPU priority there is: SCHED_IDLE runs only when no other process wants the core."""
    os.nice(19)
    if hasattr(os, "sched_setscheduler"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:  # not on this kernel: nice 19 alone
            pass


class Progress:
    """The job's status.json, rewritten at each step (at most a few times a second)."""

    def __init__(self, job_dir: Path) -> None:
        self.path = job_dir / "status.json"
        self.status = read_json(self.path)
        self.tail: Deque[str] = deque(maxlen=LOG_TAIL)
        self.written = 0.0
        self.started = time.time()
        self.status.update(started_at=now_iso(), pid=os.getpid())

    def stage(self, name: str, detail: str = "") -> None:
        self.status.update(stage=name, detail=detail, progress=STAGE_SPAN[name][0])
        self.write()

    def within(self, fraction: float, detail: str = "", force: bool = False) -> None:
        low, high = STAGE_SPAN[self.status["stage"]]
        self.status.update(progress=round(low + (high - low) * min(max(fraction, 0.0), 1.0), 3))
        if detail:
            self.status["detail"] = detail
        if force or time.monotonic() - self.written > 0.5:
            self.write()

    def log(self, line: str) -> None:
        """Rasa's own log lines and errors; Python's deprecation chatter is left in the log file."""
        line = ANSI.sub("", line).strip()
        if WORTH_SHOWING.search(line) and "Warning:" not in line:
            self.tail.append(line[:300])

    def write(self) -> None:
        self.status.update(log_tail=list(self.tail), elapsed_seconds=round(time.time() - self.started, 1))
        write_json(self.path, self.status)
        self.written = time.monotonic()

    def end(self, stage: str, error: Optional[str] = None, **extra: Any) -> None:
        self.status.update(stage=stage, error=error, finished_at=now_iso(), detail="", **extra)
        if stage == "done":
            self.status["progress"] = 1.0
        self.write()


def expected_components(jobs_dir: Path, config: Path) -> int:
    try:
        return max(1, int((jobs_dir / COMPONENTS_FILE).read_text()))
    except (OSError, ValueError):
        import yaml

        content = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        return max(1, len(content.get("pipeline") or []) + len(content.get("policies") or []) - 2)


def train(job_dir: Path, progress: Progress) -> Path:
    """`rasa train` on the snapshot, its log parsed for the component being trained (and TED's epochs)."""
    inputs = job_dir / "input"
    expected = expected_components(job_dir.parent, inputs / "config.yml")
    argv = [sys.executable, "-m", "rasa", "train", "--domain", str(inputs / "domain"), "--data", str(inputs / "data"),
            "--config", str(inputs / "config.yml"), "--out", str(job_dir / "model"), "--fixed-model-name", "candidate"]
    finished = 0
    with (job_dir / "train.log").open("w", encoding="utf-8") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        assert process.stdout is not None
        for line in process.stdout:  # universal newlines: tqdm's \r-redrawn bars arrive as lines too
            log.write(line)
            progress.log(line)
            finished += bool(FINISHED_COMPONENT.search(line))
            started, epochs = STARTED_COMPONENT.search(line), EPOCHS.search(line)
            part = int(epochs.group(1)) / 100 if epochs else 0.0
            progress.within((finished + part) / (expected + 1), f"training {started.group(1)}" if started else "")
        code = process.wait()
    if code != 0:
        raise RuntimeError(f"rasa train exited with {code}: see {job_dir / 'train.log'}")
    (job_dir.parent / COMPONENTS_FILE).write_text(str(finished))
    return job_dir / "model" / "candidate.tar.gz"


def validate(job_dir: Path, progress: Progress) -> None:
    from bot.training.validate import problems

    inputs = job_dir / "input"
    found, _output = problems(inputs / "domain", inputs / "data", inputs / "config.yml")
    for problem in found:
        progress.log(f"validation: {problem}")
    if found:
        raise RuntimeError("validation failed: " + "; ".join(found)[:1000])


def evaluate(job_dir: Path, model: Path, progress: Progress, cross_validate: bool) -> Dict[str, Any]:
    from bot.settings import get_settings
    from bot.training import evaluate as ev

    settings = get_settings()
    inputs = job_dir / "input"
    progress.stage("conversations", "running the conversation tests")
    conversations = ev.conversation_tests(model, inputs / "stories", job_dir / "conversations")
    progress.stage("blind", "scoring the blind sets: candidate")
    mine = ev.model_entry(model, ev.blind_scores(model))
    progress.within(0.5, "scoring the blind sets: active model", force=True)
    active = settings.models_dir / "current.tar.gz"
    theirs = ev.model_entry(active, ev.cached_blind_scores(active, settings.models_dir / ev.CACHE_DIR)) \
        if active.exists() else None
    cv = None
    if cross_validate:
        k = max(2, settings.train_cv_folds or 3)
        progress.stage("cross_validation", f"cross-validation: fold 1 of {k}")
        cv = ev.cross_validate(k, inputs / "data", inputs / "config.yml", inputs / "domain", on_fold=lambda i, n, _s:
                               progress.within((i + 1) / n, f"cross-validation: fold {min(i + 2, n)} of {n}", True))
    return ev.build_report(mine, theirs, conversations, cv, settings.activate_f1_margin)


def run(job_dir: Path) -> int:
    """The whole job; its outcome is in status.json (the exit code says the same: 0 done, 1 failed)."""
    progress = Progress(job_dir)
    try:
        progress.stage("validate", "validating the training data")
        validate(job_dir, progress)
        progress.stage("train", "training")
        trained = train(job_dir, progress)
        candidates = job_dir.parent.parent / CANDIDATES
        candidates.mkdir(exist_ok=True)
        model = candidates / f"{job_dir.name}.tar.gz"
        shutil.move(str(trained), model)
        progress.status["candidate"] = job_dir.name
        report = evaluate(job_dir, model, progress, bool(progress.status.get("cross_validate")))
        write_json(candidates / f"{job_dir.name}.json",
                   {"id": job_dir.name, "by": progress.status["by"], "trained_at": now_iso(), "report": report})
    except Exception as err:  # noqa: BLE001 (the job's outcome, whatever went wrong, goes to status.json)
        progress.log(traceback.format_exc(limit=3).splitlines()[-1])
        progress.end("failed", str(err)[:2000])
        return 1
    progress.end("done", report=report)
    return 0
