"""The words the analytics dashboard shows for stored names, and the journey mapping behind its funnel."""
import yaml

from bot.settings import ROOT
from bot.touchpoints.analytics import labels
from bot.touchpoints.journey import _mapping, stage_for
from bot.touchpoints.models import STAGES, TYPES


def domain_intents():
    found = set()
    for path in (ROOT / "domain").glob("*.yml"):
        for intent in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intents") or []:
            found.add(intent if isinstance(intent, str) else next(iter(intent)))
    return found


def test_every_intent_stage_reason_and_type_has_a_label_people_read():
    words = labels()
    assert domain_intents() - set(words["intents"]) == set()
    assert set(words["stages"]) == set(STAGES) and set(words["types"]) == set(TYPES)
    assert {"requested", "frustration", "repeated_miss"} <= set(words["reasons"])
    shown = [w for section in words.values() for w in section.values()]
    assert all(isinstance(w, str) and "_" not in w and w[0].isupper() for w in shown), shown


def test_every_intent_has_a_stage_or_keeps_the_conversations_on_purpose():
    mapping = _mapping()
    placed = set(mapping["intents"]) | mapping["keep"]
    assert {i for i in domain_intents() if not i.startswith(tuple(mapping["prefixes"]))} - placed == set()


def test_small_talk_and_not_understood_keep_the_stage_so_far():
    assert stage_for("thank", "message", "consideration") == "consideration"
    assert stage_for("nlu_fallback", "message", None) == "awareness"  # a first message nobody understood
    assert stage_for(None, "handoff_requested", "purchase") == "purchase"  # asking for a person is no stage
    assert stage_for("track_order", "message", "consideration") == "purchase"
    assert stage_for(None, "rating", "purchase") == "advocacy"


def test_the_console_shows_a_handoff_in_words_beside_its_stored_names():
    from bot.console.blueprints.queue import handoff_view
    from bot.handoff.queue import Handoff

    shown = handoff_view(Handoff("c1", team="orders", intent="track_order", reason="repeated_miss"))
    assert (shown["intent_label"], shown["reason_label"]) == ("Where is my order", "Bot did not understand twice")
    assert shown["intent"] == "track_order" and handoff_view(Handoff("c2"))["intent_label"] == ""
