"""Training jobs: `python -m bot train-job --job DIR` in a background process at idle CPU priority, one at a time.

A job is a folder in models_dir/jobs/<id>/: request.json (who asked, with what), a snapshot of the training
inputs taken when it was started (so edits made while it trains do not mix in), status.json (written by the
job: stage, progress, log tail, the report at the end) and its logs. The one-at-a-time lock is an flock on
models_dir/jobs/.lock taken by start() and handed to the job process, which holds it until it exits: a job
that dies (killed, out of memory, the machine restarted) frees it, and is then reported failed, not stuck.
Whether a job is alive is asked of its own process (the pid and its start time in the job's `pid` file, so a
reused pid is not taken for it), not of the lock, which a later job may hold.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, Iterator, List, Optional

from bot.settings import ROOT, Settings, child_environment

JOBS = "jobs"
CANDIDATES = "candidates"
LOCK_FILE = ".lock"
TERMINAL = ("done", "failed", "cancelled")
# TensorFlow and BLAS on one thread each: on 2 cores a training with a thread per core starves the live bot
# even at idle priority (their spinning threads hold the cores between the scheduler's decisions)
PROC = Path("/proc")
CANCEL_GRACE = 15.0  # seconds a cancelled job gets to stop on SIGTERM before its process group is killed
ONE_THREAD = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1",
              "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class TrainingBusy(RuntimeError):
    """Another training is running; the message names it."""


class JobNotFound(LookupError):
    """No job of that id."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_json(path: Path, content: Dict[str, Any]) -> None:
    """Whole or not at all: a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(content, indent=1), encoding="utf-8")
    os.replace(partial, path)


def read_json(path: Path) -> Dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def new_job_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def valid_job_id(job_id: str) -> bool:
    return 0 < len(job_id) <= 40 and all(c.isalnum() or c == "-" for c in job_id)


@dataclass
class Job:
    id: str
    path: Path
    status: Dict[str, Any]

    def public(self) -> Dict[str, Any]:
        return self.status


SNAPSHOT_TRIES = 5
EDIT_LOCK = ".edit.lock"  # bot.training.nlu_data's lock file: not training data


def snapshot(settings: Settings, into: Path) -> None:
    """The training inputs as they are now: data/, domain/, config.yml and the conversation tests. Taken under
    the training data's edit lock (the console's, the CLI's and the import's edits wait for it), and copied again
    if a file changed meanwhile all the same (an editor's save does not take the lock): never half an edit."""
    with edit_lock(settings.train_data_dir):
        for _ in range(SNAPSHOT_TRIES):
            before = fingerprint(settings)
            if into.exists():
                shutil.rmtree(into)
            copy_inputs(settings, into)
            if fingerprint(settings) == before:
                return
            time.sleep(0.2)
    raise RuntimeError(f"the training data kept changing while it was copied ({SNAPSHOT_TRIES} tries)")


def edit_lock(data_dir: Path) -> ContextManager[Any]:
    """The data folder's edit lock (the console, the CLI and imports write under it): no half-written file copied."""
    from bot.training.nlu_data import editing

    return editing(data_dir)


def copy_inputs(settings: Settings, into: Path) -> None:
    shutil.copytree(settings.train_data_dir, into / "data", ignore=shutil.ignore_patterns(EDIT_LOCK))
    shutil.copytree(settings.train_domain_dir, into / "domain")
    shutil.copy2(settings.train_config, into / "config.yml")
    shutil.copytree(settings.train_stories_dir, into / "stories")


def fingerprint(settings: Settings) -> Dict[str, tuple]:
    """Every input file's size and modification time."""
    found: Dict[str, tuple] = {}
    for root in (settings.train_data_dir, settings.train_domain_dir, settings.train_stories_dir):
        for path in root.rglob("*"):
            if path.is_file() and path.name != EDIT_LOCK:
                stat = path.stat()
                found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    stat = settings.train_config.stat()
    found[str(settings.train_config)] = (stat.st_mtime_ns, stat.st_size)
    return found


class TrainingJobs:
    """Start, watch and cancel trainings. `command` stands in for the trainer (tests); its argv gets `--job DIR`.
    idle=False trains at normal priority with as many threads as TensorFlow likes: only to measure what idle buys
    (benchmarks/training.py)."""

    def __init__(self, settings: Settings, command: Optional[List[str]] = None, idle: bool = True) -> None:
        self.settings = settings
        self.idle = idle
        self.command = command or [sys.executable, "-m", "bot", "train-job", *([] if idle else ["--normal-priority"])]
        self.dir = settings.models_dir / JOBS
        self.processes: Dict[str, subprocess.Popen] = {}  # started here: polled so none is left a zombie

    @property
    def lock_path(self) -> Path:
        return self.dir / LOCK_FILE

    def start(self, by: str, cross_validate: bool = False) -> Job:
        """Snapshot the inputs and start the job; TrainingBusy while another one runs."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TrainingBusy(self.busy_message()) from None
            job = self.prepare(by, cross_validate)
            self.launch(job, fd)
            return job
        finally:
            os.close(fd)  # the job process holds its own copy of the lock from here on

    def busy_message(self) -> str:
        running = self.latest()
        if running and running["stage"] not in TERMINAL:
            return f"a training is running: {running['id']}, started by {running['by']} at {running['created_at']}"
        return "a training is running"

    def prepare(self, by: str, cross_validate: bool) -> Job:
        job_id = new_job_id()
        path = self.dir / job_id
        path.mkdir()
        snapshot(self.settings, path / "input")
        request = {"id": job_id, "by": by, "cross_validate": bool(cross_validate), "created_at": now_iso()}
        write_json(path / "request.json", request)
        status = {**request, "stage": "queued", "progress": 0.0, "detail": "", "log_tail": [],
                  "started_at": None, "finished_at": None, "elapsed_seconds": 0.0, "report": None,
                  "error": None, "candidate": None}
        write_json(path / "status.json", status)
        return Job(job_id, path, status)

    def launch(self, job: Job, lock_fd: int) -> None:
        env = child_environment(self.settings, **(ONE_THREAD if self.idle else {}))
        log = (job.path / "job.log").open("ab")
        try:
            process = subprocess.Popen(
                [*self.command, "--job", str(job.path)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=(lock_fd,),
            )
        finally:
            log.close()
        (job.path / "pid").write_text(f"{process.pid} {start_time(process.pid) or ''}".strip())
        self.processes[job.id] = process

    def job_dir(self, job_id: str) -> Path:
        path = self.dir / job_id
        if not valid_job_id(job_id) or not (path / "status.json").exists():
            raise JobNotFound(f"no training job {job_id!r}")
        return path

    def running(self) -> bool:
        """Whether a job process holds the lock (a probe that takes it for a moment when it is free)."""
        if not self.lock_path.exists():
            return False
        fd = os.open(self.lock_path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def status(self, job_id: str) -> Dict[str, Any]:
        """The job's status.json; a job left unfinished by a process that is gone is marked failed."""
        path = self.job_dir(job_id)
        for process in self.processes.values():
            process.poll()
        status = read_json(path / "status.json")
        if status["stage"] not in TERMINAL:
            if not self.alive(path):
                return self.finish(path, status, "failed", "the training process ended without finishing")
            status["elapsed_seconds"] = round(time.time() - started_epoch(status), 1)
        return status

    def alive(self, path: Path) -> bool:
        """Whether the job's own process runs (before it has a pid file: whether the lock is held)."""
        try:
            pid, _, started = (path / "pid").read_text().strip().partition(" ")
        except OSError:
            return self.running()
        now_started = start_time(int(pid))
        return now_started is not None and (not started or started == now_started)

    def finish(self, path: Path, status: Dict[str, Any], stage: str, error: str) -> Dict[str, Any]:
        status.update(stage=stage, error=error, finished_at=now_iso(),
                      elapsed_seconds=round(time.time() - started_epoch(status), 1))
        write_json(path / "status.json", status)
        return status

    def jobs(self, limit: int = 20) -> List[Dict[str, Any]]:
        """The latest jobs' status, newest first."""
        if not self.dir.exists():
            return []
        ids = sorted((p.name for p in self.dir.iterdir() if (p / "status.json").exists()), reverse=True)
        return [self.status(i) for i in ids[:limit]]

    def latest(self) -> Optional[Dict[str, Any]]:
        found = self.jobs(1)
        return found[0] if found else None

    def cancel(self, job_id: str, by: str = "") -> Dict[str, Any]:
        """Stop a running job (its whole process group: Rasa's children too); a finished one is left as it is."""
        path = self.job_dir(job_id)
        status = self.status(job_id)
        if status["stage"] in TERMINAL:
            return status
        pid = int((path / "pid").read_text().split()[0])
        if self.alive(path):
            for signum, grace in ((signal.SIGTERM, CANCEL_GRACE), (signal.SIGKILL, 5.0)):
                if self.stop_group(job_id, pid, signum, grace):
                    break
            else:
                raise RuntimeError(f"training job {job_id}'s processes survived SIGKILL")
        return self.finish(path, read_json(path / "status.json"), "cancelled", f"cancelled by {by or 'someone'}")

    def stop_group(self, job_id: str, pid: int, signum: int, grace: float) -> bool:
        """Signal the job's process group (Rasa's children too); whether every process of it ended in time."""
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process = self.processes.get(job_id)
            if process is not None:
                process.poll()
            if not group_alive(pid):
                return True
            time.sleep(0.1)
        return not group_alive(pid)

    @contextlib.contextmanager
    def cancelled_on_exit(self, job_id: str, by: str) -> Iterator[None]:
        """For a caller that owns the job (a benchmark, a test): leaving the block any way (an exception,
        Ctrl-C, a wait that timed out) cancels the job if it still runs. It runs in its own session, so nothing
        else would stop its `rasa train`."""
        try:
            yield
        finally:
            if self.status(job_id)["stage"] not in TERMINAL:
                self.cancel(job_id, by)

    def wait(self, job_id: str, timeout: float = 3600, every: float = 1.0, on_status: Any = None) -> Dict[str, Any]:
        """Poll until the job ends (for the CLI and tests); on_status(status) at each poll."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if on_status:
                on_status(status)
            if status["stage"] in TERMINAL or time.monotonic() > deadline:
                return status
            time.sleep(every)


def started_epoch(status: Dict[str, Any]) -> float:
    return datetime.fromisoformat(status.get("started_at") or status["created_at"]).timestamp()


def proc_stat(pid: int) -> Optional[List[str]]:
    """/proc/<pid>/stat's fields after the command name (state first); None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def start_time(pid: int) -> Optional[str]:
    """When the process started (clock ticks since boot): a pid and this name one process; None if it is gone
    (or a zombie, which runs no more)."""
    if not PROC.exists():  # no /proc (macOS): whether the pid runs, no start time to compare
        return "" if signalled(lambda: os.kill(pid, 0)) else None
    fields = proc_stat(pid)
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def signalled(send: Callable[[], None]) -> bool:
    try:
        send()
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies do not)."""
    if not PROC.exists():
        return signalled(lambda: os.killpg(pgid, 0))
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = proc_stat(int(entry.name))
            if fields and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
                return True
    return False
