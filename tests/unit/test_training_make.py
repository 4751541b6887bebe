"""The Makefile never retrains over an active model: run/test/bench/evaluate only need one to exist (the first
model of a fresh clone is built when there is none), and `make train` goes through the gate (`make -n`: what make
would run, nothing run)."""
import os
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def planned(target, models_dir):
    done = subprocess.run(["make", "-n", "--no-print-directory", target, f"MODELS_DIR={models_dir}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("target", ["run", "test", "bench", "evaluate"])
def test_an_existing_model_older_than_the_data_is_not_retrained(tmp_path, target):
    model = tmp_path / "current.tar.gz"
    model.write_bytes(b"the activated model")
    old = time.time() - 10 * 365 * 86400  # older than every data file
    os.utime(model, (old, old))
    assert "rasa train" not in planned(target, tmp_path)


def test_a_fresh_clone_trains_its_first_model_into_models_dir(tmp_path):
    plan = planned("test", tmp_path)
    assert f"rasa train --domain domain --data data --config config.yml --out {tmp_path} --fixed-model-name current" \
        in plan


def test_make_train_trains_a_candidate_and_activates_it_through_the_gate(tmp_path):
    (tmp_path / "current.tar.gz").write_bytes(b"the activated model")
    plan = planned("train", tmp_path)
    assert "rasa train" not in plan
    assert '-m bot train --activate "make train"' in plan
