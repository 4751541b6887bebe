"""The report's figures worked out by hand on tiny examples, and the gate's reasons."""
import json

import pytest

from bot.training.evaluate import (
    FALLBACK,
    build_report,
    cached_blind_scores,
    compare,
    failed_stories,
    file_sha256,
    gate,
    intent_scores,
)

TRUTH = ["a", "a", "a", "b", "b", "c"]
PREDICTED = ["a", "a", "b", "b", FALLBACK, "a"]


def test_precision_recall_and_f1_per_intent_as_worked_out_by_hand():
    scores = intent_scores(TRUTH, PREDICTED)
    a, b, c = (scores["intents"][i] for i in "abc")
    # a: 2 right of 3, and one c taken for a -> P 2/3, R 2/3
    assert (a["precision"], a["recall"], a["f1"], a["support"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3, 3))
    # b: 1 right of 2 (the other asked to rephrase), one a taken for b -> P 1/2, R 1/2
    assert (b["precision"], b["recall"], b["f1"], b["support"]) == pytest.approx((0.5, 0.5, 0.5, 2))
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == (0.0, 0.0, 0.0, 1)
    assert FALLBACK not in scores["intents"]  # a miss, not an intent of the set
    assert scores["macro"]["f1"] == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    assert scores["macro"]["precision"] == pytest.approx((2 / 3 + 0.5) / 3)
    assert scores["accuracy"] == pytest.approx(3 / 6)
    assert scores["rephrase_rate"] == pytest.approx(1 / 6)


def test_f1_is_the_harmonic_mean_when_precision_and_recall_differ():
    # x: 1 right of 2, nothing else called x -> P 1, R 1/2, F1 2/3
    scores = intent_scores(["x", "x", "y"], ["x", "y", "y"])
    assert scores["intents"]["x"]["f1"] == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert scores["intents"]["y"]["precision"] == pytest.approx(0.5)


def test_confusions_are_counted_commonest_first():
    scores = intent_scores(["a", "a", "a", "b"], ["b", "b", "c", "b"])
    assert scores["confusions"] == [{"true": "a", "predicted": "b", "count": 2},
                                    {"true": "a", "predicted": "c", "count": 1}]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        intent_scores(["a"], [])


def entry(f1s, sha="s1"):
    intents = {i: {"precision": f, "recall": f, "f1": f, "support": 10} for i, f in f1s.items()}
    return {"file": "m.tar.gz", "sha256": sha, "blind": {"blind": {"intents": intents}}}


PASSED = {"passed": True, "stories": 3, "failed": []}


def test_the_gate_lets_a_candidate_through_that_passes_and_loses_nothing():
    report = build_report(entry({"a": 0.9, "b": 0.8}), entry({"a": 0.9, "b": 0.85}), PASSED, margin=0.05)
    assert report["gate"] == [] == gate(report, 0.05)
    json.dumps(report)  # the console and the log store it as it is


def test_an_f1_drop_beyond_the_margin_is_a_reason_and_one_within_it_is_not():
    report = build_report(entry({"a": 0.80, "b": 0.70}), entry({"a": 0.90, "b": 0.75}), PASSED)
    reasons = gate(report, 0.05)
    assert len(reasons) == 1 and "F1 of a fell from 0.900 to 0.800" in reasons[0]
    assert gate(report, 0.2) == []


def test_an_intent_the_candidate_lost_counts_as_f1_zero():
    reasons = gate(build_report(entry({"a": 0.9}), entry({"a": 0.9, "gone": 0.6}), PASSED), 0.05)
    assert reasons == ["blind-set F1 of gone fell from 0.600 to 0.000 (more than 0.050)"]


def test_failing_or_missing_conversation_tests_are_reasons():
    failed = {"passed": False, "stories": 3, "failed": ["greet and leave"]}
    assert gate(build_report(entry({"a": 1}), None, failed), 0.05) == ["conversation test failed: greet and leave"]
    assert gate(build_report(entry({"a": 1}), None, None), 0.05) == ["the conversation tests did not run"]
    broken = {"passed": False, "stories": 3, "failed": [], "error": "model not found"}
    assert "did not finish: model not found" in gate(build_report(entry({"a": 1}), None, broken), 0.05)[0]


@pytest.mark.parametrize("report", [None, {}, {"candidate": None}, "nonsense"])
def test_no_report_is_a_reason(report):
    assert gate(report, 0.05) == ["no evaluation report: train and evaluate the model first"]


def test_a_first_model_is_held_to_the_conversation_tests_alone():
    assert gate(build_report(entry({"a": 0.1}), None, PASSED), 0.05) == []


def test_the_comparison_puts_the_worst_change_first():
    rows = compare(entry({"a": 0.9, "b": 0.5, "new": 0.7}), entry({"a": 0.8, "b": 0.9}))["blind"]
    assert [r["intent"] for r in rows] == ["b", "a", "new"]
    assert rows[0]["change"] == pytest.approx(-0.4) and rows[2]["active_f1"] is None


def test_failed_stories_are_read_from_rasas_file(tmp_path):
    path = tmp_path / "failed_test_stories.yml"
    assert failed_stories(path) == []
    path.write_text("# None of the test stories failed - all good!")
    assert failed_stories(path) == []
    path.write_text('version: "3.1"\nstories:\n- story: one (tests/stories/x.yml)\n  steps:\n  - intent: greet\n')
    assert failed_stories(path) == ["one (tests/stories/x.yml)"]


def test_an_active_models_blind_figures_are_cached_by_its_sha256(tmp_path, monkeypatch):
    from bot.training import evaluate

    model = tmp_path / "current.tar.gz"
    model.write_bytes(b"model one")
    sets = {"blind": tmp_path / "blind.yml"}
    sets["blind"].write_text("examples: []\n")
    calls = []
    monkeypatch.setattr(evaluate, "blind_scores", lambda m, s: calls.append(m) or {"blind": {"n": len(calls)}})
    assert cached_blind_scores(model, tmp_path / "cache", sets) == {"blind": {"n": 1}}
    assert cached_blind_scores(model, tmp_path / "cache", sets) == {"blind": {"n": 1}}  # not parsed again
    assert len(calls) == 1
    assert any(p.name.startswith(file_sha256(model)) for p in (tmp_path / "cache").iterdir())
    model.write_bytes(b"model two")
    assert cached_blind_scores(model, tmp_path / "cache", sets) == {"blind": {"n": 2}}
