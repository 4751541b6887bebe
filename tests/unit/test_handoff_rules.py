"""Pure parts of the handoff: business hours, wait estimates, rating answers, routing."""
import datetime as dt

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa_sdk import Tracker

from actions.handoff import frustration_of, topic
from actions.ratings import score_from
from bot.frustration.signals import score_message
from bot.handoff.hours import BusinessHours
from bot.handoff.queue import DEFAULT_PICKUP_SECONDS, Agent, Handoff, estimate_wait
from bot.handoff.routing import team_for
from bot.settings import SettingsError

BERLIN = "Europe/Berlin"


def at(text: str) -> dt.datetime:
    """A UTC instant; 2026-11-23 is a Monday."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


def test_hours_follow_the_time_zone():
    hours = BusinessHours.parse("mon-fri 09:00-18:00; sat 10:00-14:00", BERLIN)
    assert hours.is_open(at("2026-11-23T08:30"))  # 09:30 in Berlin (UTC+1 in November)
    assert not hours.is_open(at("2026-11-23T07:30"))  # 08:30 Berlin
    assert not hours.is_open(at("2026-11-23T17:00"))  # 18:00 Berlin: closing time is exclusive
    assert hours.is_open(at("2026-11-28T12:00"))  # Saturday 13:00
    assert not hours.is_open(at("2026-11-29T12:00"))  # Sunday


def test_next_opening_skips_closed_days():
    hours = BusinessHours.parse("mon-fri 09:00-18:00; sat 10:00-14:00", BERLIN)
    opening = hours.next_opening(at("2026-11-28T14:00"))  # Saturday 15:00 Berlin
    assert (opening.weekday(), opening.hour, opening.minute) == (0, 9, 0)  # Monday 09:00
    assert hours.next_opening(at("2026-11-23T10:00")) is None  # open now


def test_empty_hours_mean_always_open_and_wrapping_day_ranges_work():
    assert BusinessHours.parse("", "UTC").is_open(at("2026-11-29T03:00"))
    weekend = BusinessHours.parse("fri-mon 00:00-24:00", "UTC")
    assert weekend.is_open(at("2026-11-29T03:00")) and weekend.is_open(at("2026-11-23T03:00"))
    assert not weekend.is_open(at("2026-11-25T03:00"))  # Wednesday


@pytest.mark.parametrize("text,zone", [("mon-fri 9-18", "UTC"), ("funday 09:00-10:00", "UTC"),
                                       ("mon 18:00-09:00", "UTC"), ("mon 09:00-18:00", "Mars/Base")])
def test_bad_hours_are_a_clear_settings_error(text, zone):
    with pytest.raises(SettingsError):
        BusinessHours.parse(text, zone)


def test_wait_estimate_uses_free_seats_then_handling_time():
    agents = [Agent("a", "A", max_chats=2, status="available", chats=1),
              Agent("b", "B", max_chats=2, status="available", chats=2),
              Agent("c", "C", max_chats=5, status="away", chats=0)]
    assert estimate_wait(0, agents, 300) == DEFAULT_PICKUP_SECONDS  # one free seat
    # beyond the free seat, seats open at 4 seats per 300 s
    assert estimate_wait(1, agents, 300) == DEFAULT_PICKUP_SECONDS + 75
    assert estimate_wait(4, agents, 300) == DEFAULT_PICKUP_SECONDS + 4 * 75
    assert estimate_wait(0, [Agent("c", "C", status="away")], 300) is None


def test_handoff_survives_its_redis_form():
    handoff = Handoff("c1", reason="frustration", frustration=0.8, signals=[{"name": "shouting", "weight": 0.3}],
                      customer_verified=True, enqueued_at=12.5)
    assert Handoff.from_redis(handoff.to_redis()) == handoff


@pytest.mark.parametrize("text,low,high,expected", [
    ("5", 1, 5, "5"), ("I'd say 4", 1, 5, "4"), ("9", 1, 5, None), ("0", 0, 10, "0"), ("10", 0, 10, "10"),
    ("skip", 1, 5, "skipped"), ("no thanks", 0, 10, "skipped"), ("great", 1, 5, None), ("", 1, 5, None),
])
def test_rating_answers(text, low, high, expected):
    assert score_from(text, low, high) == expected


def test_routing_by_intent():
    assert team_for("track_order") == "orders"
    assert team_for("payment_issue") == "payments"
    assert team_for("greet") == "general" and team_for(None) == "general"


def said(text, intent, **entities):
    """A visitor turn as Rasa stores it in the tracker (the NLU's parse data included)."""
    found = [{"entity": k, "value": v} for k, v in entities.items()]
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.93}, "entities": found}
    return UserUttered(text, parse["intent"], found, parse_data=parse).as_dict()


def session(*turns):
    events = [ActionExecuted("action_session_start").as_dict(), SessionStarted().as_dict(),
              ActionExecuted("action_listen").as_dict()]
    for turn in turns:
        events.append(turn if isinstance(turn, dict) else BotUttered(turn).as_dict())
    return events


def tracker_of(events):
    latest = next((e["parse_data"] for e in reversed(events) if e["event"] == "user"), {})
    return Tracker("guest", {}, latest, events, False, None, {}, "action_listen")


def test_an_angry_guest_with_an_order_problem_is_routed_by_the_request_not_the_last_message():
    events = session(said("where is my order??", "track_order"), "Tell me your order number and email, please.",
                     said("100841 anna@example.com", "inform", order_number="100841", email="anna@example.com"),
                     SlotSet("verified_orders", ["100841"]).as_dict(), "It should arrive by Sunday, 29 November.",
                     said("it should have arrived DAYS ago, this is ridiculous", "complaint"),
                     said("yes", "affirm"), said("get me a human now", "contact_human_agent"))
    assert topic(tracker_of(events)) == "track_order" and team_for(topic(tracker_of(events))) == "orders"


def test_routing_skips_hand_backs_ratings_and_small_talk_and_stops_at_the_session_start():
    earlier = [said("my card was charged twice", "payment_issue"), "I'm sorry about that.",
               said("I want a person", "contact_human_agent"),
               UserUttered("EXTERNAL: handoff_finished", {"name": "handoff_finished", "confidence": 1.0},
                           parse_data={"intent": {"name": "handoff_finished", "confidence": 1.0}}).as_dict(),
               said("5", "nlu_fallback"), said("are you a bot?", "chitchat_bot_challenge"), said("thanks", "thank")]
    again = session(*earlier, said("a person again please", "contact_human_agent"))
    assert topic(tracker_of(again)) == "payment_issue"
    next_day = again + session(said("hi", "greet"), said("human please", "contact_human_agent"))
    assert topic(tracker_of(next_day)) == ""  # yesterday's request is not today's
    assert team_for(topic(tracker_of(next_day))) == "general"


def test_a_handoff_carries_each_signal_once_with_its_label():
    def user(text, intent):
        parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": [],
                 "frustration": score_message(text, intent).as_dict()}
        return {"event": "user", "text": text, "timestamp": 1.0, "parse_data": parse}

    events = [{"event": "session_started"}, user("this is RIDICULOUS!!!", "complaint"),
              {"event": "bot", "text": "I'm sorry.", "timestamp": 2.0}, user("get me a real person", "contact_human_agent")]
    latest = events[-1]["parse_data"]
    _, signals = frustration_of(Tracker("v", {}, latest, events, False, None, {}, "action_listen"))
    names, shown = [s["name"] for s in signals], [s["label"] for s in signals]
    assert "human" in names and not any(n.startswith("message:") for n in names), names
    assert len(shown) == len(set(shown)) and "asks for a person" in shown and "angry words" in shown


def rating_tracker(csat, nps, text="", requested="rating_comment"):
    message = {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3}, "entities": []}
    return Tracker("visitor", {"csat": csat, "nps": nps, "requested_slot": requested}, message, [], False, None,
                   {"name": "rating_form"}, "rating_form")


@pytest.mark.parametrize("csat,nps,asks", [
    ("2", "9", True), ("1", "skipped", True), ("4", "6", True), ("skipped", "0", True),  # CSAT 1-2 or NPS 0-6
    ("3", "7", False), ("5", "10", False), ("skipped", "skipped", False), ("done", "done", False),
])
def test_a_low_rating_asks_what_went_wrong(csat, nps, asks):
    import asyncio

    from actions.ratings import ValidateRatingForm
    slots = asyncio.run(ValidateRatingForm().required_slots(["csat", "nps", "rating_comment"], None,
                                                            rating_tracker(csat, nps), {}))
    assert slots == (["csat", "nps", "rating_comment"] if asks else ["csat", "nps"])


@pytest.mark.parametrize("text,stored", [
    ("The agent never answered my question about the refund", "The agent never answered my question about the refund"),
    ("skip", "skipped"), ("No thanks.", "skipped"), ("no one told me anything", "no one told me anything"),
])
def test_what_went_wrong_is_the_visitors_own_words(text, stored):
    import asyncio

    from actions.ratings import ValidateRatingForm
    extracted = asyncio.run(ValidateRatingForm().extract_rating_comment(None, rating_tracker("1", "2", text), {}))
    assert extracted == {"rating_comment": stored}
    other = asyncio.run(ValidateRatingForm().extract_rating_comment(None, rating_tracker("1", "2", text, "nps"), {}))
    assert other == {}  # only when that is the question
