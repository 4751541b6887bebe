"""`python -m bot nlu`: examples added, moved and removed as single lines, on copies of the real data and domain."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ROOT
from bot.training.nlu_data import NluData, NluDataError, comparison_key, written_form
from tests.unit.training_copies import lock_held_elsewhere


@pytest.fixture
def project(tmp_path):
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "domain", tmp_path / "domain")
    return tmp_path


@pytest.fixture
def nlu(project):
    return NluData(project / "data", project / "domain")


def snapshot(root: Path):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".edit.lock"}


def changed_lines(before: dict, after: dict):
    """(file, line) pairs added and removed, every other byte of every file compared."""
    added, removed = [], []
    for name in sorted(set(before) | set(after)):
        old = before.get(name, b"").splitlines(keepends=True)
        new = after.get(name, b"").splitlines(keepends=True)
        for line in set(new) - set(old):
            added.append((name, line.decode()))
        for line in set(old) - set(new):
            removed.append((name, line.decode()))
        if len(new) > len(old) + 1:
            assert new[:len(old)] == old, name  # a new intent's block, appended
        elif len(new) == len(old) + 1:
            i = next(i for i, line in enumerate(new) if i >= len(old) or line != old[i])
            assert new[:i] + new[i + 1:] == old, name  # one line inserted, the rest byte for byte
        elif len(new) == len(old) - 1:
            i = next(i for i, line in enumerate(old) if i >= len(new) or line != new[i])
            assert old[:i] + old[i + 1:] == new, name
        else:
            assert new == old, name
    return added, removed


def test_add_is_one_line_at_the_end_of_the_intents_block(project, nlu):
    before = snapshot(project)
    message = nlu.add("track_order", "my parcel went to the neighbours, where is it")
    added, removed = changed_lines(before, snapshot(project))
    assert added == [("data/nlu/orders.yml", "    - my parcel went to the neighbours, where is it\n")] and not removed
    assert nlu.examples_of("track_order")[-1] == "my parcel went to the neighbours, where is it"
    assert "track_order" in message and "orders.yml" in message


def test_adding_again_changes_nothing_and_says_so(project, nlu):
    nlu.add("greet", "good day to you sir")
    before = snapshot(project)
    assert nlu.add("greet", "Good day to you, sir!").startswith("already taught")
    assert snapshot(project) == before


def test_an_order_number_or_email_variant_is_already_there(project, nlu):
    before = snapshot(project)
    assert "track order number 100482" in nlu.examples_of("track_order")
    assert nlu.add("track_order", "track order number 654321").startswith("already taught")
    assert nlu.add("track_order", "track order 777777 zed@mail.org").startswith("already taught")
    assert snapshot(project) == before
    assert comparison_key("where is 123456") == comparison_key("where is #654321")


def test_the_written_line_is_masked(project, nlu):
    before = snapshot(project)
    nlu.add("track_order", "hi, parcel 314159 never came, write to real.person@mail.org")
    added, _ = changed_lines(before, snapshot(project))
    assert added == [("data/nlu/orders.yml", "    - hi, parcel 100482 never came, write to name@example.com\n")]
    assert written_form("order #271828 please") == "order #100482 please"
    assert written_form("no numbers here") == "no numbers here"


def test_an_example_of_another_intent_is_moved(project, nlu):
    text = "my package is late"
    assert text in nlu.examples_of("track_order")
    before = snapshot(project)
    message = nlu.add("delivery_period", text)
    added, removed = changed_lines(before, snapshot(project))
    assert added == [("data/nlu/shipping.yml", f"    - {text}\n")]
    assert removed == [("data/nlu/orders.yml", f"    - {text}\n")]
    assert text not in nlu.examples_of("track_order") and nlu.examples_of("delivery_period")[-1] == text
    assert "removed from track_order" in message


def test_remove_says_where_or_that_it_was_not_found(project, nlu):
    text = nlu.examples_of("greet")[0]
    before = snapshot(project)
    message = nlu.remove(text)
    assert "from greet" in message and "chitchat.yml" in message
    added, removed = changed_lines(before, snapshot(project))
    assert removed == [("data/nlu/chitchat.yml", f"    - {text}\n")] and not added
    assert nlu.remove(text).startswith("not found")


@pytest.mark.parametrize("intent, text, why", [
    ("no_such_intent", "hello there", "no_such_intent"),
    ("greet", "", "empty"),
    ("greet", "   ", "empty"),
    ("greet", "hello\nthere", "line break"),
    ("Greet", "hello", "a-z"),
    ("greet me", "hello", "a-z"),
    ("greet", "my order [100482](order_number)", "entity annotation"),
    ("no_such_intent", "hello there", "needs --new"),
])
def test_bad_requests_are_refused_and_change_nothing(project, nlu, intent, text, why):
    before = snapshot(project)
    with pytest.raises(NluDataError, match=why):
        nlu.add(intent, text, file="faq.yml" if why == "needs --new" else None)
    assert snapshot(project) == before


def test_the_last_example_of_an_intent_is_not_removed(project, nlu):
    nlu.add("faq_robots", "do you sell robots", new=True)
    before = snapshot(project)
    with pytest.raises(NluDataError, match="last example"):
        nlu.remove("do you sell robots")
    with pytest.raises(NluDataError, match="last example"):
        nlu.add("greet", "do you sell robots")
    assert snapshot(project) == before


def test_new_creates_the_intent_in_the_nlu_file_and_the_domain_as_rasa_reads_them(project, nlu):
    from rasa.shared.core.domain import Domain
    from rasa.shared.nlu.training_data.loading import load_data

    before = snapshot(project)
    message = nlu.add("robot_sales", "do you sell robots 100481", new=True, file="data/nlu/orders.yml")
    added, removed = changed_lines(before, snapshot(project))
    assert not removed
    assert ("domain/orders.yml", "  - robot_sales\n") in added
    assert (project / "data/nlu/orders.yml").read_text().endswith(
        "\n- intent: robot_sales\n  examples: |\n    - do you sell robots 100482\n")
    assert "orders.yml" in message and "domain" in message
    training = load_data(str(project / "data" / "nlu"))
    assert [m.get("text") for m in training.intent_examples if m.get("intent") == "robot_sales"] == [
        "do you sell robots 100482"]
    domain = Domain.load(str(project / "domain"))
    assert "robot_sales" in domain.intents and "greet" in domain.intents


def test_new_without_a_file_goes_to_the_topic_of_its_first_word_or_a_new_file(project, nlu):
    assert "faq.yml" in nlu.add("faq_robots", "do you sell robots", new=True)
    assert "base.yml" in nlu.add("zeppelin_rides", "can i ride a zeppelin", new=True)
    assert nlu.examples_of("zeppelin_rides") == ["can i ride a zeppelin"]
    assert (project / "data" / "nlu" / "new_intents.yml").read_text().startswith('version: "3.1"\nnlu:\n')


def cli_env(project):
    import os

    return {**os.environ, "BOT_VAR_DIR": str(project / "var"), "DATABASE_URL": ""}


def test_the_cli_works_on_the_folders_it_is_given(project):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "bot", "nlu", "--data", str(project / "data"),
                               "--domain", str(project / "domain"), *args], cwd=ROOT, capture_output=True, text=True,
                              env=cli_env(project))

    real = snapshot(ROOT / "data")
    done = run("add", "greet", "ahoy matey")
    assert done.returncode == 0 and "added 'ahoy matey' to greet" in done.stdout
    refused = run("add", "no_such_intent", "ahoy")
    assert refused.returncode == 2 and "no_such_intent" in refused.stderr
    listed = run("list", "greet")
    assert listed.returncode == 0 and listed.stdout.splitlines()[-1] == "ahoy matey"
    assert snapshot(ROOT / "data") == real


def test_a_refused_new_intent_takes_no_example_from_another(project, nlu):
    """Every check is made before any file is written: a bad file name loses nothing from greet."""
    greeting = nlu.examples_of("greet")[0]
    before = snapshot(project)
    with pytest.raises(NluDataError):
        nlu.add("brand_new_intent", greeting, new=True, file="Bad-Name.yml")
    assert snapshot(project) == before


def test_a_domain_without_intents_refuses_a_new_intent_and_changes_nothing(project, nlu):
    greeting = nlu.examples_of("greet")[0]
    for path in (project / "domain").glob("*.yml"):
        path.write_text(path.read_text().replace("intents:", "intentz:"))
    before = snapshot(project)
    with pytest.raises(NluDataError):
        nlu.add("brand_new_intent", greeting, new=True)
    assert snapshot(project) == before


def test_writes_keep_the_file_mode_and_leave_no_temporary_file(project, nlu):
    path = nlu.file_of("greet")
    path.chmod(0o640)
    nlu.add("greet", "howdy partner and friends")
    assert path.stat().st_mode & 0o777 == 0o640
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_an_edit_waits_for_another_process_holding_the_edit_lock(project, nlu):
    import time

    with lock_held_elsewhere(project / "data"):
        start = time.monotonic()
        nlu.add("greet", "howdy partner and friends")
        assert time.monotonic() - start > 0.8
    assert "howdy partner and friends" in nlu.examples_of("greet")


def test_the_cli_logs_its_changes_and_defaults_to_the_settings_folders(project):
    from bot import db
    from bot.training.changes import TrainingChanges

    env = {**cli_env(project), "TRAIN_DATA_DIR": str(project / "data"), "TRAIN_DOMAIN_DIR": str(project / "domain")}
    done = subprocess.run([sys.executable, "-m", "bot", "nlu", "add", "greet", "ahoy matey"], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "ahoy matey" in NluData(project / "data", project / "domain").examples_of("greet")
    removed = subprocess.run([sys.executable, "-m", "bot", "nlu", "remove", "ahoy matey"], cwd=ROOT,
                             capture_output=True, text=True, env=env)
    assert removed.returncode == 0, removed.stderr
    log = TrainingChanges(f"sqlite:///{project / 'var' / 'bot.db'}", NluData(project / "data", project / "domain"))
    try:
        history = log.history()
        assert [(c.kind, c.source, c.text) for c in history] == [("remove", "cli", "ahoy matey"),
                                                                 ("add", "cli", "ahoy matey")]
        assert all(c.by for c in history)
    finally:
        log.close()
        db.dispose_all()
