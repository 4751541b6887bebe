"""The training job's life: one at a time, its stages in status.json, a dead job marked failed, cancel. A tiny
script stands in for the trainer here (tests/integration/test_training.py runs the real one)."""
import os
import sys
import threading
import time

import pytest

from bot.settings import ROOT, Settings
from bot.training import jobs as jobs_module
from bot.training.jobs import JobNotFound, TrainingBusy, TrainingJobs, read_json, write_json
from bot.training.nlu_data import editing

# the stand-in: writes its stages, then waits for a "go" file (or dies, if told) before finishing
FAKE_TRAINER = """
import json, os, signal, sys, time
from pathlib import Path
job = Path(sys.argv[sys.argv.index("--job") + 1])
if (job.parent / "stubborn").exists():  # a job that does not stop on SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
status = json.loads((job / "status.json").read_text())
def write(**kw):
    status.update(kw)
    (job / "s.tmp").write_text(json.dumps(status)); os.replace(job / "s.tmp", job / "status.json")
write(stage="validate", progress=0.01, started_at=status["created_at"])
write(stage="train", progress=0.3, detail="training TEDPolicy")
while not (job.parent / "go").exists() and not (job.parent / "die").exists():
    time.sleep(0.05)
if (job.parent / "die").exists():
    os._exit(9)
write(stage="done", progress=1.0, report={"gate": []})
"""


@pytest.fixture()
def jobs(tmp_path):
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER)
    settings = Settings(models_dir=tmp_path / "models", var_dir=tmp_path / "var")
    made = TrainingJobs(settings, command=[sys.executable, str(script)])
    yield made
    made.dir.mkdir(parents=True, exist_ok=True)
    (made.dir / "go").touch()
    for process in made.processes.values():
        process.wait(10)


def wait_for(jobs, job_id, stage, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = jobs.status(job_id)
        if status["stage"] == stage:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job never reached {stage}: {jobs.status(job_id)}")


def test_a_job_goes_through_its_stages_to_done(jobs):
    job = jobs.start("trainer1")
    assert job.public()["stage"] == "queued" and job.public()["by"] == "trainer1"
    running = wait_for(jobs, job.id, "train")
    assert running["detail"] == "training TEDPolicy" and 0 < running["progress"] < 1
    assert running["elapsed_seconds"] >= 0
    (jobs.dir / "go").touch()
    done = wait_for(jobs, job.id, "done")
    assert done["progress"] == 1.0 and done["report"] == {"gate": []}
    assert jobs.latest()["id"] == job.id


def test_a_second_start_is_refused_while_one_runs_and_allowed_after(jobs):
    first = jobs.start("trainer1")
    wait_for(jobs, first.id, "train")
    with pytest.raises(TrainingBusy, match=first.id):
        jobs.start("trainer2")
    (jobs.dir / "go").touch()
    wait_for(jobs, first.id, "done")
    jobs.processes[first.id].wait(10)
    (jobs.dir / "go").unlink()
    second = jobs.start("trainer2")
    assert second.id != first.id


def test_the_busy_lock_holds_across_processes_it_is_the_job_that_holds_it(jobs, tmp_path):
    job = jobs.start("trainer1")
    wait_for(jobs, job.id, "train")
    other = TrainingJobs(jobs.settings, command=jobs.command)  # a second console or the CLI
    with pytest.raises(TrainingBusy):
        other.start("trainer2")
    assert other.status(job.id)["stage"] == "train"  # another process sees it running, not dead


def test_a_job_whose_process_died_is_marked_failed_not_left_running(jobs):
    job = jobs.start("trainer1")
    wait_for(jobs, job.id, "train")
    (jobs.dir / "die").touch()
    jobs.processes[job.id].wait(10)
    status = jobs.status(job.id)
    assert status["stage"] == "failed" and "ended without finishing" in status["error"]
    assert read_json(job.path / "status.json")["stage"] == "failed"  # written down, not just reported
    (jobs.dir / "die").unlink()
    jobs.start("trainer2")  # and the lock is free again


def test_cancel_stops_the_process_and_frees_the_lock(jobs):
    job = jobs.start("trainer1")
    wait_for(jobs, job.id, "train")
    status = jobs.cancel(job.id, "admin")
    assert status["stage"] == "cancelled" and status["error"] == "cancelled by admin"
    assert jobs.processes[job.id].wait(10) != 0
    assert not jobs.running()
    assert jobs.cancel(job.id)["stage"] == "cancelled"  # twice is harmless


def test_a_job_deaf_to_sigterm_is_killed_before_it_is_marked_cancelled(jobs, monkeypatch):
    monkeypatch.setattr("bot.training.jobs.CANCEL_GRACE", 1.0)
    jobs.dir.mkdir(parents=True, exist_ok=True)
    (jobs.dir / "stubborn").touch()
    job = jobs.start("trainer1")
    wait_for(jobs, job.id, "train")
    time.sleep(0.3)  # its SIGTERM handler is in place
    status = jobs.cancel(job.id, "admin")
    assert status["stage"] == "cancelled"
    assert jobs.processes[job.id].poll() == -9  # gone already when it was marked, killed
    (jobs.dir / "go").touch()  # a live one would now write "done" over it
    time.sleep(0.3)
    assert read_json(job.path / "status.json")["stage"] == "cancelled" and not jobs.running()


def test_a_dead_job_is_failed_even_while_a_later_job_holds_the_lock(jobs):
    first = jobs.start("trainer1")
    wait_for(jobs, first.id, "train")
    (jobs.dir / "die").touch()
    jobs.processes[first.id].wait(10)
    (jobs.dir / "die").unlink()
    second = jobs.start("trainer2")
    wait_for(jobs, second.id, "train")
    assert jobs.running()
    assert read_json(first.path / "status.json")["stage"] == "train"
    assert jobs.status(first.id)["stage"] == "failed"
    assert jobs.status(second.id)["stage"] == "train"


def test_a_reused_pid_is_not_taken_for_the_job(jobs):
    job = jobs.start("trainer1")
    wait_for(jobs, job.id, "train")
    (jobs.dir / "die").touch()
    jobs.processes[job.id].wait(10)
    (jobs.dir / "die").unlink()
    jobs.start("trainer2")  # the lock is held again
    (job.path / "pid").write_text(f"{os.getpid()} 1")  # a live process, started at another time
    assert jobs.status(job.id)["stage"] == "failed"


@pytest.mark.parametrize("leaving", [KeyboardInterrupt, RuntimeError])
def test_a_job_left_by_an_interrupt_or_an_error_is_cancelled(jobs, leaving):
    job = jobs.start("bench")
    with pytest.raises(leaving):
        with jobs.cancelled_on_exit(job.id, "bench"):
            wait_for(jobs, job.id, "train")
            raise leaving()
    assert jobs.processes[job.id].poll() is not None and not jobs.running()
    assert jobs.status(job.id)["stage"] == "cancelled"


def test_a_job_finished_in_the_block_is_left_as_it_is(jobs):
    job = jobs.start("bench")
    with jobs.cancelled_on_exit(job.id, "bench"):
        (jobs.dir / "go").touch()
        wait_for(jobs, job.id, "done")
    assert jobs.status(job.id)["stage"] == "done"


def test_without_proc_a_job_is_alive_while_its_pid_runs(jobs, monkeypatch, tmp_path):
    monkeypatch.setattr(jobs_module, "PROC", tmp_path / "no-proc")
    job = jobs.start("trainer1")
    assert jobs.status(job.id)["stage"] not in ("failed", "cancelled")
    assert jobs.cancel(job.id, "admin")["stage"] == "cancelled"
    assert jobs.processes[job.id].poll() is not None


def test_the_inputs_are_snapshotted_at_start(jobs):
    job = jobs.start("trainer1")
    inputs = job.path / "input"
    assert (inputs / "config.yml").read_bytes() == (ROOT / "config.yml").read_bytes()
    assert sorted(p.name for p in (inputs / "data" / "nlu").iterdir()) == sorted(
        p.name for p in (ROOT / "data" / "nlu").iterdir())
    assert (inputs / "domain").is_dir() and (inputs / "stories").is_dir()


def small_inputs(tmp_path):
    for name in ("data", "domain", "stories"):
        (tmp_path / name).mkdir()
    (tmp_path / "data" / "nlu.yml").write_text("version: 1\n")
    (tmp_path / "domain" / "base.yml").write_text("intents: []\n")
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    return Settings(train_data_dir=tmp_path / "data", train_domain_dir=tmp_path / "domain",
                    train_config=tmp_path / "config.yml", train_stories_dir=tmp_path / "stories")


def test_a_file_changed_during_the_snapshot_is_copied_again(tmp_path, monkeypatch):
    settings = small_inputs(tmp_path)
    copies = []
    real = jobs_module.copy_inputs

    def copy_then_edit(settings, into):  # a trainer saves while the copy runs: the copy may hold half of it
        real(settings, into)
        copies.append(into)
        if len(copies) == 1:
            (into / "data" / "nlu.yml").write_text("version: half")
            (tmp_path / "data" / "nlu.yml").write_text("version: 1\nnlu: [whole]\n")

    monkeypatch.setattr(jobs_module, "copy_inputs", copy_then_edit)
    jobs_module.snapshot(settings, tmp_path / "snap")
    assert len(copies) == 2
    assert (tmp_path / "snap" / "data" / "nlu.yml").read_text() == "version: 1\nnlu: [whole]\n"


def test_the_snapshot_waits_for_an_edit_holding_the_data_lock(tmp_path):
    settings = small_inputs(tmp_path)
    done = threading.Event()
    with editing(settings.train_data_dir):
        copier = threading.Thread(target=lambda: (jobs_module.snapshot(settings, tmp_path / "snap"), done.set()))
        copier.start()
        assert not done.wait(0.5)  # held off while the edit runs
        (tmp_path / "data" / "nlu.yml").write_text("version: 1\nnlu: [edited]\n")
    copier.join(10)
    assert done.is_set() and (tmp_path / "snap" / "data" / "nlu.yml").read_text() == "version: 1\nnlu: [edited]\n"
    assert not (tmp_path / "snap" / "data" / ".edit.lock").exists()


@pytest.mark.parametrize("job_id", ["../models", "nope", "", "a/b"])
def test_an_unknown_or_malformed_job_id_is_not_found(jobs, job_id):
    with pytest.raises(JobNotFound):
        jobs.status(job_id)


def test_status_files_are_replaced_whole(tmp_path):
    path = tmp_path / "status.json"
    write_json(path, {"stage": "train"})
    assert read_json(path) == {"stage": "train"} and [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_the_job_runs_at_idle_priority(tmp_path):
    import subprocess

    code = ("import os; from bot.training.trainer import idle_priority; idle_priority(); "
            "print(os.nice(0), os.sched_getscheduler(0) == os.SCHED_IDLE)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["19", "True"]


def test_progress_maps_each_stage_into_its_share_and_keeps_rasas_lines(tmp_path):
    from bot.training.trainer import FINISHED_COMPONENT, Progress

    write_json(tmp_path / "status.json", {"id": "j", "created_at": "2026-01-01T00:00:00+00:00", "stage": "queued"})
    progress = Progress(tmp_path)
    progress.stage("train", "training")
    progress.within(0.5, "training TEDPolicy", force=True)
    status = read_json(tmp_path / "status.json")
    assert status["progress"] == pytest.approx(0.05 + 0.65 * 0.5) and status["detail"] == "training TEDPolicy"
    progress.log("/x/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call")
    progress.log("  declare_namespace(pkg)")
    progress.log("\x1b[0m2026-12-03 17:03:13 INFO     rasa.engine.training.hooks  - Restored component 'TEDPolicy' from cache.")
    progress.end("done")
    status = read_json(tmp_path / "status.json")
    assert status["log_tail"] == ["2026-12-03 17:03:13 INFO     rasa.engine.training.hooks  - Restored component "
                                  "'TEDPolicy' from cache."]
    assert status["progress"] == 1.0 and status["finished_at"]
    assert FINISHED_COMPONENT.search("Finished training component 'LinearBlendIntentClassifier'.")
