"""Activation, rollback, history and the log, on model files of a few bytes; the replicas are a recording stand-in
for the Rasa servers (tests/integration/test_training.py loads real models into a real one)."""
import json

import pytest

from bot.training.evaluate import build_report, file_sha256
from bot.training.models import CURRENT, ActivationRefused, ModelError, ModelNotFound, ModelStore

PASSED = {"passed": True, "stories": 2, "failed": []}


def entry(f1, sha):
    return {"file": "x.tar.gz", "sha256": sha, "blind": {"blind": {"macro": {"f1": f1},
                                                                   "intents": {"a": {"f1": f1, "support": 5}}}}}


class Replicas:
    """What each replica is asked, and what it answers: ok unless told to fail (some times)."""

    def __init__(self):
        self.calls = []
        self.failing = {}

    def __call__(self, url, token, model_file):
        self.calls.append((url, token, model_file))
        if self.failing.get(url, 0) > 0:
            self.failing[url] -= 1
            return {"url": url, "ok": False, "status": 500, "error": "boom"}
        return {"url": url, "ok": True, "status": 200, "model_id": "m", "error": None}


@pytest.fixture()
def store(tmp_path):
    models = tmp_path / "models"
    (models / "candidates").mkdir(parents=True)
    (models / CURRENT).write_bytes(b"the first model")
    return ModelStore(models, f"sqlite:///{tmp_path / 'bot.db'}", margin=0.05, loader=Replicas())


def candidate(store, cid, content, f1=0.9, active_f1=0.9, conversations=PASSED):
    (store.dir / "candidates" / f"{cid}.tar.gz").write_bytes(content)
    active_sha = file_sha256(store.dir / CURRENT)
    report = build_report(entry(f1, "x"), entry(active_f1, active_sha), conversations)
    (store.dir / "candidates" / f"{cid}.json").write_text(json.dumps({"id": cid, "report": report}))


REPLICAS = ["http://r1:5005", "http://r2:5005"]


def test_activation_replaces_the_file_loads_every_replica_and_logs_who_and_why(store):
    first = store.active()
    assert first["id"].startswith("initial-")
    candidate(store, "20260101-000000-aaaa", b"model two")
    done = store.activate("20260101-000000-aaaa", "anna", "more refund phrases", REPLICAS, "tok")
    assert (store.dir / CURRENT).read_bytes() == b"model two"
    assert (store.dir / "history" / f"{first['id']}.tar.gz").read_bytes() == b"the first model"
    assert store.loader.calls == [(u, "tok", CURRENT) for u in REPLICAS]
    assert done.ok and done.previous == first["id"] and done.kind == "activate"
    logged = store.activations()[0].public()
    assert (logged["by"], logged["reason"], logged["model"]) == ("anna", "more refund phrases", "20260101-000000-aaaa")
    assert [r["url"] for r in logged["replicas"]] == REPLICAS and logged["at"].startswith("20")
    json.dumps(logged)
    assert store.active()["id"] == "20260101-000000-aaaa" and store.active()["by"] == "anna"


def test_a_candidate_the_gate_refuses_is_not_activated_and_nothing_changes(store):
    candidate(store, "20260101-000000-bbbb", b"worse", f1=0.5)
    with pytest.raises(ActivationRefused) as refused:
        store.activate("20260101-000000-bbbb", "anna", "try", REPLICAS, "tok")
    assert "F1 of a fell" in refused.value.reasons[0]
    assert (store.dir / CURRENT).read_bytes() == b"the first model"
    assert store.loader.calls == [] and store.activations() == []


def test_failing_conversation_tests_refuse_activation(store):
    candidate(store, "20260101-000000-cccc", b"x", conversations={"passed": False, "stories": 2, "failed": ["s1"]})
    with pytest.raises(ActivationRefused, match="conversation test failed: s1"):
        store.activate("20260101-000000-cccc", "anna", "try", REPLICAS, "tok")


def test_force_activates_despite_the_gate_and_says_so_in_the_log(store):
    candidate(store, "20260101-000000-dddd", b"worse", f1=0.5)
    done = store.activate("20260101-000000-dddd", "admin", "hotfix, figures checked by hand", REPLICAS, "tok", force=True)
    public = done.public()
    assert public["forced"] and "F1 of a fell" in public["gate"][0]


def test_a_candidate_evaluated_against_another_active_model_must_be_evaluated_again(store):
    candidate(store, "20260101-000000-eeee", b"two")
    (store.dir / CURRENT).write_bytes(b"someone replaced it")
    with pytest.raises(ActivationRefused, match="active model changed"):
        store.activate("20260101-000000-eeee", "anna", "x", REPLICAS, "tok")


def test_a_replica_failing_twice_puts_the_previous_model_back_everywhere(store):
    first = store.active()["id"]
    candidate(store, "20260101-000000-ffff", b"two")
    store.loader.failing = {"http://r2:5005": 2}
    done = store.activate("20260101-000000-ffff", "anna", "x", REPLICAS, "tok")
    r1, r2 = done.replicas
    assert r1["ok"] and r1["attempts"] == 1 and r1["restored"]["ok"]  # r1 had loaded two: it loads the first again
    assert not r2["ok"] and r2["attempts"] == 2 and r2["first_error"] == "boom" and "restored" not in r2
    assert not done.ok and done.state == "failed"
    logged = store.activations()[0].public()
    assert not logged["ok"] and logged["state"] == "failed" and logged["replicas"] == done.replicas
    assert (store.dir / CURRENT).read_bytes() == b"the first model" and store.active()["id"] == first
    assert [c[0] for c in store.loader.calls] == ["http://r1:5005", "http://r2:5005", "http://r2:5005",
                                                  "http://r1:5005"]
    with pytest.raises(ModelError, match="no earlier model"):  # the failed activation is not what stands
        store.rollback("bob", "why", REPLICAS, "tok")


def test_a_replica_nobody_listens_on_does_not_fail_the_activation(store):
    def loader(url, token, model_file):
        if url == REPLICAS[1]:
            return {"url": url, "ok": False, "status": None, "error": "ConnectionError: refused", "unreachable": True}
        return {"url": url, "ok": True, "status": 200, "model_id": "m", "error": None}

    store.loader = loader
    candidate(store, "20260101-000000-ffff", b"two")
    done = store.activate("20260101-000000-ffff", "anna", "x", REPLICAS, "tok")
    assert done.ok and done.state == "done" and (store.dir / CURRENT).read_bytes() == b"two"


def test_the_row_is_written_before_the_install_and_a_crash_midway_leaves_it_logged(store):
    first = store.active()["id"]
    candidate(store, "20260101-000000-aaaa", b"two")
    seen = []

    def crashing(url, token, model_file):  # the process dies while the replicas load
        seen.append([(a.state, a.model, a.previous, a.by) for a in store.activations()])
        raise SystemExit("killed")

    store.loader = crashing
    with pytest.raises(SystemExit):
        store.activate("20260101-000000-aaaa", "anna", "more refunds", REPLICAS, "tok")
    assert seen == [[("installed", "20260101-000000-aaaa", first, "anna")]]
    assert (store.dir / CURRENT).read_bytes() == b"two"
    store.loader = Replicas()
    back = store.rollback("bob", "the activation crashed", REPLICAS, "tok")
    assert back.model == first and (store.dir / CURRENT).read_bytes() == b"the first model"


def test_a_crash_before_the_install_leaves_a_pending_row_that_rollback_skips(store, monkeypatch):
    first = store.active()["id"]
    candidate(store, "20260101-000000-aaaa", b"two")
    store.activate("20260101-000000-aaaa", "anna", "new data", REPLICAS, "tok")
    candidate(store, "20260101-000000-bbbb", b"three")
    (store.dir / "candidates" / "20260101-000000-bbbb.json").write_text(json.dumps(
        {"id": "b", "report": build_report(entry(0.9, "x"), entry(0.9, file_sha256(store.dir / CURRENT)), PASSED)}))

    def disk_full(*_):
        raise OSError("no space left on device")

    monkeypatch.setattr(store, "_install", disk_full)
    with pytest.raises(OSError):
        store.activate("20260101-000000-bbbb", "anna", "more", REPLICAS, "tok")
    assert [(a.state, a.model) for a in store.activations()][:1] == [("pending", "20260101-000000-bbbb")]
    monkeypatch.undo()
    back = store.rollback("bob", "back to the first", REPLICAS, "tok")
    assert (back.model, back.previous) == (first, "20260101-000000-aaaa")
    assert (store.dir / CURRENT).read_bytes() == b"the first model"


def test_rollback_makes_the_previous_model_active_again_and_back(store):
    first = store.active()["id"]
    candidate(store, "20260101-000000-aaaa", b"model two")
    store.activate("20260101-000000-aaaa", "anna", "new data", REPLICAS, "tok")
    back = store.rollback("bob", "refunds answered worse", REPLICAS, "tok")
    assert (store.dir / CURRENT).read_bytes() == b"the first model"
    assert (back.kind, back.model, back.previous, back.by) == ("rollback", first, "20260101-000000-aaaa", "bob")
    assert store.active()["id"] == first
    again = store.rollback("bob", "it was fine after all", REPLICAS, "tok")  # a rollback is itself undone by one
    assert again.model == "20260101-000000-aaaa" and (store.dir / CURRENT).read_bytes() == b"model two"
    assert [a.kind for a in store.activations()] == ["rollback", "rollback", "activate"]
    assert {h["id"] for h in store.history()} == {first, "20260101-000000-aaaa"}


def test_nothing_to_roll_back_to_is_refused(store):
    with pytest.raises(ModelError, match="no earlier model"):
        store.rollback("bob", "why not", REPLICAS, "tok")


@pytest.mark.parametrize("by, reason", [("", "why"), ("anna", ""), ("anna", "   ")])
def test_who_and_why_are_required(store, by, reason):
    candidate(store, "20260101-000000-aaaa", b"two")
    with pytest.raises(ModelError):
        store.activate("20260101-000000-aaaa", by, reason, REPLICAS, "tok")


@pytest.mark.parametrize("cid", ["../current", "nope", "20260101-000000-zzzz"])
def test_unknown_candidates_are_not_found(store, cid):
    with pytest.raises(ModelNotFound):
        store.activate(cid, "anna", "x", REPLICAS, "tok")


def test_the_active_model_cannot_be_activated_again(store):
    candidate(store, "20260101-000000-aaaa", b"two")
    store.activate("20260101-000000-aaaa", "anna", "x", REPLICAS, "tok")
    with pytest.raises(ModelError, match="already"):
        store.activate("20260101-000000-aaaa", "anna", "x", REPLICAS, "tok", force=True)


def test_candidates_are_listed_with_their_figures_and_verdict(store):
    candidate(store, "20260101-000000-aaaa", b"two", f1=0.92)
    candidate(store, "20260102-000000-bbbb", b"three", f1=0.5)
    listed = store.candidates()
    assert [c["id"] for c in listed] == ["20260102-000000-bbbb", "20260101-000000-aaaa"]
    assert listed[1]["macro_f1"] == 0.92 and listed[1]["gate"] == [] and listed[1]["conversation_tests_passed"]
    assert listed[0]["gate"] and not listed[0]["active"]
    assert store.candidate("20260101-000000-aaaa")["report"]["candidate"]["sha256"] == "x"
    json.dumps(listed)
