"""The fallback decision, on real domain and tracker fixtures."""
import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionCheckRepeatedMiss
from bot.dialogue import consecutive_fallbacks
from bot.settings import ROOT


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
    ],
)
def test_consecutive_fallbacks_counts_only_the_latest_run(events, expected):
    assert consecutive_fallbacks(events) == expected


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
