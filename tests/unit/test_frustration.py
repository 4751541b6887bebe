"""Frustration scoring: message signals, negation, masks and typos, the conversation score, and labels."""
import re

import pytest

from bot.frustration.conversation import RETRY_SIGNALS, Turn, conversation_frustration, escalation_turn, scores, similar
from bot.frustration.labels import LABELS_FILE, described, label, labels
from bot.frustration.signals import FRUSTRATED_AT, Signal, combine, load_lexicon, score_message

FRUSTRATION = LABELS_FILE.parent


def names(text, intent=None):
    return {s.name for s in score_message(text, intent).signals}


@pytest.mark.parametrize("text,signal", [
    ("this is f*cking ridiculous", "profanity"),
    ("sh!t service", "profanity"),
    ("what a rediculous answer", "anger"),  # one typo
    ("you are all incompetent", "insult"),
    ("third time I ask about this", "repetition"),
    ("still no answer from anyone", "service_failure"),
    ("great, just great", "sarcasm"),
    ("wonderful, the parcel is lost again", "sarcasm"),
    ("I'll post this on twitter", "threat"),
    ("WHY IS MY PARCEL NOT HERE", "shouting"),
    ("why???", "punctuation"),
    ("get me a real person", "human"),
])
def test_signals_are_found(text, signal):
    assert signal in names(text)


@pytest.mark.parametrize("text", [
    "not bad at all", "no problem, thanks", "I'm not angry, just asking", "it isn't terrible",
    "what does it cost to cancel my order", "THANK YOU", "great, thanks!!!", "is the XL size of the NORTHWIND jacket in stock",
    "I'd like to speak to a person about a bulk order", "",
])
def test_calm_messages_are_not_frustrated(text):
    assert score_message(text).score < FRUSTRATED_AT, score_message(text).signals


@pytest.mark.parametrize("text", [
    "this is unacceptable!!!", "I'm sick and tired of waiting", "you people are useless", "WHERE IS MY REFUND",
    "I will never order from you again", "f**k this",
])
def test_frustrated_messages_score_high(text):
    assert score_message(text).score >= FRUSTRATED_AT


def test_signals_combine_and_carry_evidence():
    result = score_message("this is ridiculous!!!", learned_tone=False)
    assert result.score == pytest.approx(combine([0.6, 0.3]))
    assert result.as_dict()["signals"][0] == {"name": "anger", "weight": 0.6, "evidence": "ridiculous"}
    assert "complaint" in [s.name for s in score_message("I want to complain", intent="complaint").signals]


def test_intensifiers_and_downtoners():
    assert score_message("so annoying").score > score_message("annoying").score > score_message("a bit annoying").score


def test_a_downtoner_softens_the_sign_and_the_score():
    slightly = score_message("I'm slightly annoyed the colour is sold out")
    plainly = score_message("I'm annoyed the colour is sold out")
    assert slightly.signals[0].weight < plainly.signals[0].weight and slightly.score < plainly.score
    assert slightly.signals[0].weight * 0.85 < 0.5  # alone it does not make the bot offer a person


def test_one_rude_word_fades_but_rising_trouble_escalates():
    calm = [Turn("hello"), Turn("thanks")]
    rude = Turn("damn code", [Signal("mild_profanity", 0.4, "damn")])
    history = scores([rude, *calm])
    assert history[0].score < 0.5 and history[-1].score < history[0].score  # decays
    rising = scores([Turn(text, [Signal("anger", weight, text)])
                     for text, weight in (("late", 0.3), ("still late", 0.5), ("fed up", 0.6))])
    assert rising[0].score < rising[1].score < rising[2].score and rising[2].score >= 0.5


def test_conversation_signals_from_the_dialogue():
    turns = [{"user": "I need the receipt for march", "bot": "fallback"},
             {"user": "I need the receipt for my march order", "bot": "fallback"},
             {"user": "receipt for march please", "bot": "fallback"}]
    assert escalation_turn(turns) is not None
    assert escalation_turn([{"user": "hi"}, {"user": "where is my order"}, {"user": "thanks"}]) is None
    assert not similar("where is my order 204518", "can I pay with paypal")
    assert similar("I need the receipt for my march purchase", "the receipt for the purchase in march please")


def test_conversation_frustration_reads_rasa_events_since_the_last_hand_back():
    def user(text, intent="track_order", t=0.0, score=None):
        parse = {"intent": {"name": intent, "confidence": 0.9}}
        if score:
            parse["frustration"] = {"score": score, "signals": [{"name": "anger", "weight": score, "evidence": text}]}
        return {"event": "user", "text": text, "timestamp": t, "parse_data": parse}

    events = [user("this is ridiculous", t=1, score=0.9), {"event": "bot", "text": "sorry", "timestamp": 2},
              {"event": "resume", "timestamp": 3}, user("thanks, all good", intent="thank", t=4, score=0.0)]
    score, signals = conversation_frustration(events)
    assert score.score == 0 and signals == []  # the person dealt with the earlier trouble
    score, signals = conversation_frustration(events[:2])
    assert score.score >= 0.5 and signals[0].name.startswith(("message", "anger"))
    slow = [user("where is my order", t=0, score=0.0), {"event": "bot", "text": "it's on its way", "timestamp": 45}]
    assert "long_wait" in {s.name for s in conversation_frustration(slow)[1]}
    burst = [user(f"hello {i}", intent="greet", t=i, score=0.0) for i in range(3)]
    assert "burst" in {s.name for s in conversation_frustration(burst)[1]}


def test_every_signal_the_bot_can_produce_has_a_label_for_agents():
    source = "".join((FRUSTRATION / name).read_text(encoding="utf-8") for name in ("signals.py", "conversation.py"))
    produced = set(re.findall(r"(?:Signal|add)\(f?\"([a-z_]+)[\":]", source)) | set(load_lexicon().weights)
    assert {"shouting", "complaint", "repeated_misses", "long_wait", "human", "message"} <= produced
    assert produced - set(labels()) == set()
    assert label("message:human") == label("human") == "asks for a person"
    assert label("brand_new_sign") == "brand new sign"  # a signal added without a label still reads as words


def test_signals_are_described_once_each_strongest_first():
    shown = described([{"name": "human", "weight": 0.3, "evidence": "a human"},
                       {"name": "message:human", "weight": 0.26, "evidence": "get me a human"},
                       {"name": "repeated_misses", "weight": 0.4, "evidence": "3 misses in a row"}])
    assert [(s["label"], s["evidence"], s["quote"]) for s in shown] == [
        ("the bot did not understand several times in a row", "3 misses in a row", False),
        ("asks for a person", "a human", True)]



def test_evidence_an_agent_reads_is_words_not_signal_names():
    complaint = score_message("I want to complain about this", intent="complaint")
    assert complaint.signals[0].evidence == "I want to complain about this"
    retry = Turn("where is my parcel 204518 now", bot_repeated=True, failed_verification=True)
    merged = scores([Turn("where is my parcel 204518"), retry])[-1].signals
    # one retry, shown by its strongest sign with that sign's own evidence (it was "bot_repeating + rephrasing + ...")
    assert [(s.name, s.evidence) for s in merged if s.name in RETRY_SIGNALS] == [("bot_repeating", "same answer twice")]

