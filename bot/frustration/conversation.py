"""A conversation's frustration: message scores plus what the conversation itself shows (the bot missing
again and again, the visitor rephrasing, the bot repeating itself, failed verification, long waits,
bursts of messages), combined turn by turn with decay. One rude word in a good conversation fades;
trouble that keeps coming adds up.

    S_t = 1 - (1 - DECAY * S_{t-1}) * (1 - x_t)      x_t = this turn's evidence, combined

Used by the dialogue policy (policy.py) on Rasa trackers and by the benchmark on labelled dialogues.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from bot.frustration.signals import Signal, combine, score_message

DECAY = 0.75  # how much of the last turn's score carries over
MESSAGE_SHARE = 0.85  # one message alone escalates when it scores about 0.6 or more (a clear sign)
TONE_SHARE = 0.7  # of the learned tone's weight, when the lexicon found nothing (see escalating_share)
DEFAULT_OFFER_AT = 0.5
DEFAULT_HANDOVER_AT = 0.8
FALLBACK_WEIGHT = 0.2  # per miss in a row beyond the first
REPHRASE_WEIGHT = 0.3
BOT_REPEAT_WEIGHT = 0.35
FAILED_VERIFICATION_WEIGHT = 0.25
LONG_WAIT_SECONDS = 30.0
LONG_WAIT_WEIGHT = 0.3
BURST_MESSAGES = 3
BURST_SECONDS = 15.0
BURST_WEIGHT = 0.3
LOW_CONFIDENCE = 0.5
SIMILAR = 0.6
STOPWORDS = {"i", "my", "me", "the", "a", "an", "to", "is", "it", "of", "and", "for", "you", "your", "do", "can",
             "please", "what", "where", "how", "this", "that", "in", "on", "with", "be", "are", "was", "have", "has"}


@dataclass
class Turn:
    text: str
    message_signals: List[Signal] = field(default_factory=list)
    intent: Optional[str] = None
    fallback: bool = False
    bot_repeated: bool = False
    failed_verification: bool = False
    wait_seconds: float = 0.0  # how long the visitor waited for the bot's previous answer
    burst: bool = False


@dataclass
class ConversationScore:
    score: float = 0.0
    signals: List[Signal] = field(default_factory=list)  # this turn's evidence

    def as_dict(self) -> Dict[str, Any]:
        return {"score": round(self.score, 3), "signals": [s.as_dict() for s in self.signals]}


def _words(text: str) -> set:
    return {w for w in re.findall(r"[a-z0-9']+", (text or "").lower()) if w not in STOPWORDS}


def similar(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if len(wa) < 2 or len(wb) < 2:
        return False
    return len(wa & wb) / len(wa | wb) >= SIMILAR


def escalating_share(turn: Turn) -> float:
    """How much of the message's evidence the conversation takes: its signals, not its blended score (which
    ranks messages, and is above zero for every message). Where the lexicon found signs, those; where it
    found none, TONE_SHARE of the learned tone's. The tone ranks messages well and catches polite frustration
    the lexicon misses, but added to the lexicon's own signs it pushed single angry messages past the handover
    line, so the bot no longer asked first."""
    tone = max((s.weight for s in turn.message_signals if s.name == "tone"), default=0.0)
    lexicon = combine(s.weight for s in turn.message_signals if s.name != "tone")
    return lexicon if lexicon > 0 else TONE_SHARE * tone


def scores(turns: Sequence[Turn]) -> List[ConversationScore]:
    """The conversation score after each turn."""
    out: List[ConversationScore] = []
    previous, misses = 0.0, 0
    earlier: List[str] = []
    for turn in turns:
        evidence: List[Signal] = []
        message = escalating_share(turn)
        if message > 0:
            top = next((s.name for s in turn.message_signals if s.name != "tone"), "tone") if turn.message_signals else "message"
            evidence.append(Signal(f"message:{top}", message * MESSAGE_SHARE, turn.text[:60]))
        misses = misses + 1 if turn.fallback else 0
        if misses >= 2:
            evidence.append(Signal("repeated_misses", FALLBACK_WEIGHT * (misses - 1), f"{misses} misses in a row"))
        # asking the same thing again in other words (the same intent alone is normal: two orders, two questions)
        if any(similar(turn.text, before) for before in earlier[-3:]):
            evidence.append(Signal("rephrasing", REPHRASE_WEIGHT, turn.text[:60]))
        if turn.bot_repeated:
            evidence.append(Signal("bot_repeating", BOT_REPEAT_WEIGHT, "same answer twice"))
        if turn.failed_verification:
            evidence.append(Signal("failed_verification", FAILED_VERIFICATION_WEIGHT, "order not verified"))
        evidence = _one_retry(evidence)
        if turn.wait_seconds >= LONG_WAIT_SECONDS:
            evidence.append(Signal("long_wait", LONG_WAIT_WEIGHT, f"waited {turn.wait_seconds:.0f} s"))
        if turn.burst:
            evidence.append(Signal("burst", BURST_WEIGHT, f"{BURST_MESSAGES}+ messages in {BURST_SECONDS:.0f} s"))
        x = combine(s.weight for s in evidence)
        previous = 1.0 - (1.0 - DECAY * previous) * (1.0 - x)
        out.append(ConversationScore(previous, sorted(evidence, key=lambda s: -s.weight)))
        earlier.append(turn.text)
    return out


RETRY_SIGNALS = ("rephrasing", "bot_repeating", "failed_verification")
RETRY_EXTRA = 0.1  # each further sign of the same retry adds a little, not a whole new piece of evidence


def _one_retry(evidence: List[Signal]) -> List[Signal]:
    """Rephrasing, the bot answering the same and a failed lookup often describe one retry: count them as one."""
    retry = sorted((s for s in evidence if s.name in RETRY_SIGNALS), key=lambda s: -s.weight)
    if len(retry) < 2:
        return evidence
    # the strongest sign's own evidence: the agent reads it, and "rephrasing + bot_repeating" was jargon
    merged = Signal(retry[0].name, min(1.0, retry[0].weight + RETRY_EXTRA * (len(retry) - 1)), retry[0].evidence)
    return [s for s in evidence if s.name not in RETRY_SIGNALS] + [merged]


def escalation_turn(turns: Iterable[Dict[str, Any]], offer_at: float = DEFAULT_OFFER_AT) -> Optional[int]:
    """For a labelled dialogue (tests/data/frustration_dialogues.yml): the first turn at which the bot would
    offer or hand over to a person, or None."""
    built, previous = [], None
    for raw in turns:
        text = str(raw["user"])
        message = score_message(text)
        bot = raw.get("bot", "answered")
        built.append(Turn(text, message.signals, intent=raw.get("intent"), fallback=bot == "fallback",
                          bot_repeated=bot == "repeat" and previous in ("answered", "repeat"),
                          failed_verification=bot == "not_verified", wait_seconds=float(raw.get("wait", 0)),
                          burst=bool(raw.get("burst"))))
        previous = bot
    for i, result in enumerate(scores(built)):
        if result.score >= offer_at:
            return i
    return None


def current_stretch(events: Sequence[Dict[str, Any]]) -> Sequence[Dict[str, Any]]:
    """The events since the session started or a person handed back: what the bot is judged on now."""
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") in ("session_started", "resume"):
            return events[i + 1:]
    return events


def turns_from_events(events: Sequence[Dict[str, Any]]) -> List[Turn]:
    """Visitor turns of the current stretch of a Rasa tracker."""
    turns: List[Turn] = []
    bot_texts: List[str] = []
    unanswered: List[float] = []  # times of the visitor's messages since the bot last spoke
    failed, in_form = 0, False
    for event in current_stretch(events):
        kind = event.get("event")
        if kind == "user":
            text = event.get("text") or ""
            if text.startswith("EXTERNAL:"):
                continue  # the console's doing (a hand-back), not the visitor's
            parse = event.get("parse_data") or {}
            intent = (parse.get("intent") or {}).get("name")
            confidence = (parse.get("intent") or {}).get("confidence")
            known = parse.get("frustration")
            stamp = float(event.get("timestamp") or 0)
            unanswered = [t for t in unanswered if stamp - t <= BURST_SECONDS] + [stamp]
            turns.append(Turn(
                text,
                _signals(known) if isinstance(known, dict) else score_message(text, intent).signals,
                intent=intent,
                # inside a form the visitor answers its questions ("4", an email): not a miss
                fallback=not in_form and (intent == "nlu_fallback" or (confidence is not None and confidence < LOW_CONFIDENCE)),
                bot_repeated=len(bot_texts) >= 2 and bot_texts[-1] == bot_texts[-2] and bool(bot_texts[-1]),
                burst=len(unanswered) >= BURST_MESSAGES))
        elif kind == "bot":
            if turns and unanswered and event.get("timestamp"):
                turns[-1].wait_seconds = max(turns[-1].wait_seconds, float(event["timestamp"]) - unanswered[-1])
            unanswered = []
            bot_texts.append(event.get("text") or "")
        elif kind == "active_loop":
            in_form = bool(event.get("name"))
        elif kind == "slot" and event.get("name") == "failed_lookups" and turns:
            value = int(event.get("value") or 0)
            if value > failed and value >= 2:  # one typo in an email is normal; failing again is not
                turns[-1].failed_verification = True
            failed = value
    return turns


def _signals(known: Dict[str, Any]) -> List[Signal]:
    return [Signal(str(s.get("name")), float(s.get("weight") or 0), str(s.get("evidence") or ""))
            for s in known.get("signals") or [] if isinstance(s, dict)]


def conversation_frustration(events: Sequence[Dict[str, Any]]) -> Tuple[ConversationScore, List[Signal]]:
    """The current score and every signal seen in this stretch (strongest first), for the policy and the queue."""
    turns = turns_from_events(events)
    if not turns:
        return ConversationScore(), []
    history = scores(turns)
    seen: Dict[str, Signal] = {}
    for turn, result in zip(turns, history, strict=False):
        for signal in result.signals + turn.message_signals:
            if signal.name.startswith("message:") and turn.message_signals:
                continue  # the message's own signals say the same ("human" and "message:human"), more precisely
            if signal.name not in seen or seen[signal.name].weight < signal.weight:
                seen[signal.name] = signal
    return history[-1], sorted(seen.values(), key=lambda s: -s.weight)
