"""The change log: every example taught, moved or removed is logged, and undone while its inverse still applies."""
import json

import pytest
import sqlalchemy as sa

from bot.training.changes import TrainingError
from tests.unit.training_copies import change_log, copy_folders, snapshot


@pytest.fixture
def project(tmp_path):
    return copy_folders(tmp_path)


@pytest.fixture
def changes(project):
    with change_log(project) as log:
        yield log


def where(changes, text):
    return sorted({f.example.intent for f in changes.nlu.find(text)})


def test_teach_logs_an_added_example_and_undo_removes_it(project, changes):
    before = snapshot(project)
    change = changes.teach("track_order", "my parcel went to the neighbours", "anna", source="inbox")
    assert (change.kind, change.intent, change.by, change.source, change.previous_intents) == (
        "add", "track_order", "anna", "inbox", [])
    assert change.file == "data/nlu/orders.yml"
    assert where(changes, "my parcel went to the neighbours") == ["track_order"]
    public = change.public()
    assert json.loads(json.dumps(public)) == public and public["at"] == change.at.isoformat()
    undo = changes.undo(change.id, "ben")
    assert (undo.kind, undo.undo_of, undo.by) == ("undo", change.id, "ben")
    assert snapshot(project) == before
    assert [c.id for c in changes.history()] == [undo.id, change.id]
    assert changes.history()[1].undone_by == undo.id and not changes.history()[1].public()["undoable"]


def test_an_example_of_another_intent_is_moved_and_undo_moves_it_back(project, changes):
    text = "my package is late"
    assert where(changes, text) == ["track_order"]
    before = snapshot(project)
    change = changes.teach("delivery_period", text, "anna")
    assert change.kind == "move" and change.previous_intents == ["track_order"]
    assert where(changes, text) == ["delivery_period"]
    changes.undo(change.id, "anna")
    assert where(changes, text) == ["track_order"]
    assert snapshot(project)["data/nlu/shipping.yml"] == before["data/nlu/shipping.yml"]
    assert changes.nlu.examples_of("track_order")[-1] == text  # back in its intent (at the end of the block)


def test_unteach_logs_where_from_and_undo_teaches_it_again(changes):
    text = changes.nlu.examples_of("greet")[0]
    change = changes.unteach(text, "anna")
    assert change.kind == "remove" and change.previous_intents == ["greet"] and where(changes, text) == []
    changes.undo(change.id, "anna")
    assert where(changes, text) == ["greet"]


def test_undo_twice_or_an_undo_is_refused(changes):
    change = changes.teach("greet", "ahoy there matey", "anna")
    undo = changes.undo(change.id, "anna")
    with pytest.raises(TrainingError, match="already undone"):
        changes.undo(change.id, "anna")
    with pytest.raises(TrainingError, match="not undone"):
        changes.undo(undo.id, "anna")
    with pytest.raises(TrainingError, match="no change"):
        changes.undo(9999, "anna")


def test_undo_after_a_later_change_is_refused_and_changes_nothing(project, changes):
    first = changes.teach("greet", "ahoy there matey", "anna")
    changes.teach("goodbye", "ahoy there matey", "ben")  # moved on since
    before, log = snapshot(project), [c.public() for c in changes.history()]
    with pytest.raises(TrainingError, match="changed since.*goodbye"):
        changes.undo(first.id, "anna")
    assert snapshot(project) == before and [c.public() for c in changes.history()] == log
    removed = changes.unteach("ahoy there matey", "ben")
    changes.teach("thank", "ahoy there matey", "ben")
    with pytest.raises(TrainingError, match="changed since.*thank"):
        changes.undo(removed.id, "anna")


def test_teaching_what_is_there_changes_nothing_and_is_not_logged(project, changes):
    before = snapshot(project)
    same = changes.teach("track_order", "track order number 654321", "anna")
    assert same.kind == "unchanged" and same.id is None and "already taught" in same.detail["message"]
    assert snapshot(project) == before and changes.history() == []


def test_placeholders_become_sample_values(changes):
    change = changes.teach("track_order", "hi I'm [name], where is [order], call [phone] or mail [email]", "anna")
    assert change.text == "hi I'm Alex, where is 100482, call +49 30 1234567 or mail name@example.com"
    assert changes.nlu.examples_of("track_order")[-1] == change.text


@pytest.mark.parametrize("args, why", [
    (("no_such_intent", "hello there", "anna"), "unknown intent"),
    (("greet", "", "anna"), "empty"),
    (("greet", "hi [x](y)", "anna"), "entity annotation"),
    (("greet", "hello there", ""), "who made"),
    (("greet", "hello there", "x" * 33), "who made"),
])
def test_bad_requests_are_refused_and_change_nothing(project, changes, args, why):
    before = snapshot(project)
    with pytest.raises(TrainingError, match=why):
        changes.teach(*args)
    assert snapshot(project) == before and changes.history() == []


def test_the_only_example_of_a_new_intent_is_not_undone(changes):
    change = changes.teach("faq_robots", "do you sell robots", "anna", new=True)
    assert change.detail["created"] and change.file == "data/nlu/faq.yml"
    with pytest.raises(TrainingError, match="created the intent"):
        changes.undo(change.id, "anna")
    with pytest.raises(TrainingError, match="last example"):
        changes.unteach("do you sell robots", "anna")


def test_undo_puts_back_every_removed_line_in_its_own_intent_and_original_form(project, changes):
    """The same example (masked-equal) in two intents, written differently: both come back, as they were."""
    nlu = changes.nlu
    for intent, line in (("goodbye", "where is my order 100377"), ("track_order", "where is my order 100999")):
        nlu_file = nlu.file_of(intent)
        text = nlu_file.read_text()
        line_end = text.index("\n", text.index("examples: |", text.index(f"- intent: {intent}\n"))) + 1
        nlu_file.write_text(text[:line_end] + f"    - {line}\n" + text[line_end:])
    assert where(changes, "where is my order 100482") == ["goodbye", "track_order"]
    before = snapshot(project)
    change = changes.unteach("where is my order 100482", "anna")
    assert sorted(change.previous_intents) == ["goodbye", "track_order"]
    changes.undo(change.id, "anna")
    assert where(changes, "where is my order 100482") == ["goodbye", "track_order"]
    assert "where is my order 100377" in nlu.examples_of("goodbye")
    assert sorted(snapshot(project)) == sorted(before)
    moved = changes.teach("delivery_period", "where is my order 100482", "anna")
    changes.undo(moved.id, "anna")
    assert where(changes, "where is my order 100482") == ["goodbye", "track_order"]
    assert "where is my order 100377" in nlu.examples_of("goodbye")


@pytest.mark.parametrize("intent, text", [("x" * 65, "a brand new sentence here"),
                                          ("greet", "word " * 120), ("greet", "[email] " * 40)])
def test_what_the_log_cannot_hold_is_refused_before_any_file_is_written(project, changes, intent, text):
    before = snapshot(project)
    with pytest.raises(TrainingError):
        changes.teach(intent, text, "anna", new=True)
    assert snapshot(project) == before and changes.history() == []


def test_a_failed_log_row_puts_the_files_back(project, changes):
    before = snapshot(project)
    with changes.engine.begin() as conn:  # the row's insert fails: the table is gone
        conn.exec_driver_sql("ALTER TABLE training_changes RENAME TO gone")
    with pytest.raises(sa.exc.OperationalError):
        changes.teach("greet", "ahoy there matey", "anna")
    assert snapshot(project) == before
