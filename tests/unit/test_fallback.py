"""The fallback decision, on real domain and tracker fixtures."""
import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionCheckRepeatedMiss
from bot.settings import ROOT
from bot.tracker.misses import consecutive_misses


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain")).as_dict()


def user(intent, text="..."):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.3}}}


def bot(text="..."):
    return {"event": "bot", "text": text}


def tracker(events):
    last = next((e for e in reversed(events) if e["event"] == "user"), {})
    return Tracker("visitor", {}, last, events, False, None, {}, "action_listen")


@pytest.mark.parametrize(
    "events, expected",
    [
        ([], 0),
        ([user("greet"), bot()], 0),
        ([user("greet"), bot(), user("nlu_fallback")], 1),
        ([user("nlu_fallback"), bot(), user("nlu_fallback")], 2),
        ([user("nlu_fallback"), bot(), user("track_order"), bot(), user("nlu_fallback")], 1),
        # a miss is a miss, whatever kind: out of scope counts like not understood (issue 16, point 15)
        ([user("out_of_scope"), bot(), user("nlu_fallback")], 2),
        ([user("nlu_fallback"), bot(), user("out_of_scope")], 2),
        ([user("out_of_scope"), bot(), user("out_of_scope")], 2),
        ([user("out_of_scope"), bot(), user("greet"), bot(), user("out_of_scope")], 1),
    ],
)
def test_consecutive_misses_counts_only_the_latest_run(events, expected):
    assert consecutive_misses(events) == expected


def loop(name):
    return {"event": "active_loop", "name": name}


def test_answers_to_a_form_are_not_misses():
    # "4" and "9" for a rating come out as nlu_fallback: they answered the form's questions
    rated = [loop("rating_form"), user("nlu_fallback", "4"), bot(), user("nlu_fallback", "9"), loop(None), bot()]
    assert consecutive_misses(rated) == 0
    assert consecutive_misses(rated + [user("nlu_fallback", "blorp")]) == 1


def test_nonsense_taken_for_out_of_scope_then_not_understood_offers_a_person(domain):
    events = ActionCheckRepeatedMiss().run(
        CollectingDispatcher(), tracker([user("out_of_scope", "the zorp"), bot(), user("nlu_fallback", "blorp")]), domain
    )
    assert events[0]["value"] is True


def test_first_miss_does_not_offer_a_person(domain):
    dispatcher = CollectingDispatcher()
    events = ActionCheckRepeatedMiss().run(dispatcher, tracker([user("greet"), bot(), user("nlu_fallback")]), domain)
    assert events == [{"event": "slot", "name": "repeated_miss", "value": False, "timestamp": None}]
    assert dispatcher.messages == []


def test_second_miss_in_a_row_offers_a_person(domain):
    events = ActionCheckRepeatedMiss().run(
        CollectingDispatcher(), tracker([user("nlu_fallback"), bot(), user("nlu_fallback")]), domain
    )
    assert events[0]["value"] is True
    assert "repeated_miss" in domain["slots"]
