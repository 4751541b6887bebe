"""The transcript an agent reads, from the events a real tracker holds after a handoff, a hand-back and a
rating (tests/data/tracker_handoff_rating.json: a REST conversation on the stack, trimmed of model ids)."""
import json

from bot.settings import ROOT
from bot.tracker.transcript import history_from_events

EVENTS = json.loads((ROOT / "tests/data/tracker_handoff_rating.json").read_text())


def test_the_agent_reads_what_people_said_and_did_with_bot_events_as_quiet_lines():
    shown = [(t["sender"], t["text"]) for t in history_from_events(EVENTS, detail=True)]
    assert [t for t in shown if t[0] != "bot"] == [
        ("visitor", "where is my order"),
        ("visitor", "I want to talk to a human"),
        ("system", "Bot paused: a person has the chat"),
        ("visitor", "hello? anyone there"),
        ("agent", "Hi, here. Let me look."),
        ("system", "Bot resumed"),  # the console's trigger ("EXTERNAL: handoff_finished") is not a visitor turn
        ("visitor", "4"),
        ("system", "Rated 4/5"),
        ("visitor", "skip"),
        ("system", "Recommendation skipped"),
    ]


def test_answers_to_the_rating_form_carry_no_intent_and_requests_do():
    visitor = {t["text"]: t for t in history_from_events(EVENTS, detail=True) if t["sender"] == "visitor"}
    assert visitor["where is my order"]["intent"] == "track_order"
    assert visitor["hello? anyone there"]["frustration"] == 0.4
    assert "intent" not in visitor["4"]  # the tracker says nlu_fallback 0.50
    assert "intent" not in visitor["skip"]  # and faq_guest_checkout 0.58


def test_the_visitor_replay_has_no_internal_events():
    texts = [t["text"] for t in history_from_events(EVENTS)]
    assert not [t for t in texts if "EXTERNAL" in t or "handoff_finished" in t]
    assert "Rated 4/5" not in texts and all(t["sender"] != "system" for t in history_from_events(EVENTS))


def test_a_rating_is_a_line_only_when_given_or_skipped():
    slot = lambda name, value: {"event": "slot", "name": name, "value": value, "timestamp": 1}  # noqa: E731
    events = [slot("csat", None), slot("csat", "invalid"), slot("csat", "5"), slot("nps", "10"), slot("csat", "done")]
    assert [t["text"] for t in history_from_events(events, detail=True)] == ["Rated 5/5", "Would recommend: 10/10"]


def test_a_clicked_button_reads_as_its_title_and_other_payloads_stay_hidden():
    buttons = [{"title": "Yes, about this order", "payload": '/track_order{"order_number": "100617"}'}]
    events = [{"event": "user", "text": "/greet", "timestamp": 0},
              {"event": "bot", "text": "Is this about order 100617?", "data": {"buttons": buttons}, "timestamp": 1},
              {"event": "user", "text": buttons[0]["payload"], "timestamp": 2},
              {"event": "user", "text": "/deny", "timestamp": 3}]
    assert [(t["sender"], t["text"]) for t in history_from_events(events)] == [
        ("bot", "Is this about order 100617?"), ("visitor", "Yes, about this order")]
