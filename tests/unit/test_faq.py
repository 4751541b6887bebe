"""A new FAQ in one step, on copies of the data, domain and shop facts: every file it needs, or none changed."""

import pytest
import yaml

from bot import shop
from bot.settings import ROOT
from bot.training.changes import TrainingError
from bot.training.faq import add_faq
from tests.unit.training_copies import change_log, copy_folders, lock_held_elsewhere
from tests.unit.training_copies import snapshot as snapshot_of

EXAMPLES = ["do you sell robots", "can I buy a robot from you", "robots for sale?"]
ANSWER = 'Robots are not sold at {shop_name} yet: write to {support_email} if you want one ("robot" in the subject).'


FOLDERS = ("data", "domain", "shop")


@pytest.fixture
def project(tmp_path):
    return copy_folders(tmp_path, FOLDERS)


@pytest.fixture
def changes(project):
    with change_log(project) as log:
        yield log


def snapshot(root):
    return snapshot_of(root, FOLDERS)


def faq(project, changes, intent="faq_robots", examples=EXAMPLES, answer=ANSWER):
    return add_faq(intent, examples, answer, "anna", changes=changes, facts_file=project / "shop" / "facts.yml")


def test_a_new_faq_writes_every_file_it_needs_and_keeps_every_other_byte(project, changes):
    before = snapshot(project)
    change = faq(project, changes)
    after = snapshot(project)
    assert (change.kind, change.source, change.intent) == ("faq", "faq", "faq_robots")
    assert changes.history()[0].id == change.id and change.detail["examples"] == EXAMPLES
    assert changes.nlu.examples_of("faq_robots") == EXAMPLES
    facts_before, facts_after = before["shop/facts.yml"].decode(), after["shop/facts.yml"].decode()
    new_line = '  utter_faq_robots: "Robots are not sold at {shop_name} yet: write to {support_email} if you want ' \
               'one (\\"robot\\" in the subject)."\n'
    assert facts_after.replace(new_line, "", 1) == facts_before
    assert shop.load(project / "shop" / "facts.yml")["answers"]["utter_faq_robots"] == ANSWER
    assert after["data/rules/answers.yml"].decode().endswith(
        "\n\n- rule: answer faq robots\n  steps:\n  - intent: faq_robots\n  - action: utter_faq_robots\n")
    rendered = yaml.safe_load(after["domain/answers.yml"])["responses"]["utter_faq_robots"]
    assert rendered == [{"text": 'Robots are not sold at Northwind Goods yet: write to help@northwind.example if you '
                                 'want one ("robot" in the subject).'}]
    assert after["domain/base.yml"].decode().replace("  - faq_robots\n", "", 1) == before["domain/base.yml"].decode()
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed == {"shop/facts.yml", "data/rules/answers.yml", "domain/answers.yml", "domain/base.yml",
                       "data/nlu/faq.yml"}


@pytest.mark.parametrize("intent, examples, answer, why", [
    ("faq_opening_hours", EXAMPLES, ANSWER, "exists already"),
    ("robots", EXAMPLES, ANSWER, "faq_<topic>"),
    ("faq_Robots", EXAMPLES, ANSWER, "a-z"),
    ("faq_robots", [], ANSWER, "1 to 50 examples"),
    ("faq_robots", ["do you sell robots", "Do you sell robots?"], ANSWER, "the same"),
    ("faq_robots", ["what are your opening hours"], ANSWER, "already an example of faq_opening_hours"),
    ("faq_robots", ["do you sell [robots](product)"], ANSWER, "entity annotation"),
    ("faq_robots", EXAMPLES, "", "one line"),
    ("faq_robots", EXAMPLES, "two\nlines", "one line"),
    ("faq_robots", EXAMPLES, "Ask {robot_expert}", "unknown facts: robot_expert"),
    ("faq_robots", EXAMPLES, "a lone { brace", "braces"),
])
def test_a_bad_faq_is_refused_and_changes_nothing(project, changes, intent, examples, answer, why):
    before = snapshot(project)
    with pytest.raises(TrainingError, match=why):
        faq(project, changes, intent, examples, answer)
    assert snapshot(project) == before and changes.history() == []


def test_a_failure_part_way_puts_every_file_back(project, changes, monkeypatch):
    before = snapshot(project)

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(shop, "write_answers", broken)
    with pytest.raises(OSError):
        faq(project, changes)
    assert snapshot(project) == before


def test_the_copy_with_a_new_faq_still_validates(project, changes):
    from bot.training.validate import problems_in

    faq(project, changes)
    assert problems_in(project / "data", project / "domain", ROOT / "config.yml") == []


def test_a_failure_puts_back_only_the_files_the_faq_wrote(project, changes, monkeypatch):
    """An NLU file the FAQ did not write is not rewritten from a snapshot when it fails."""
    other = changes.nlu.file_of("greet")
    written = []

    def broken(*args):
        other.write_text(other.read_text() + "    - a line another edit added\n")  # changed meanwhile
        written.append(True)
        raise OSError("disk full")

    monkeypatch.setattr(shop, "write_answers", broken)
    with pytest.raises(OSError):
        faq(project, changes)
    assert written and other.read_text().endswith("    - a line another edit added\n")
    assert changes.nlu.file_of("faq_robots") is None


def test_an_faq_waits_for_another_process_holding_the_edit_lock(project, changes):
    import time

    with lock_held_elsewhere(project / "data"):
        start = time.monotonic()
        faq(project, changes)
        assert time.monotonic() - start > 0.8


def test_undo_of_an_faq_takes_out_everything_it_added(project, changes):
    before = snapshot(project)
    change = faq(project, changes)
    assert change.public()["undoable"]
    undo = changes.undo(change.id, "ben")
    assert undo.undo_of == change.id and changes.get(change.id).undone_by == undo.id
    assert snapshot(project) == before


def test_undo_of_an_faq_changed_since_is_refused_and_changes_nothing(project, changes):
    change = faq(project, changes)
    changes.teach("faq_robots", "any robots in the shop", "anna")
    before = snapshot(project)
    with pytest.raises(TrainingError):
        changes.undo(change.id, "ben")
    assert snapshot(project) == before and changes.get(change.id).undone_by is None
