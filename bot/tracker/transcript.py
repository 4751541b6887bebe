"""The visible transcript of a conversation from its Rasa tracker events: what the visitor, the bot and agents
said, and (for agents) what happened in between as quiet event lines: the bot paused or resumed, a rating."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

# set by Rasa's trigger_intent (the console's hand-back): an event, never something the visitor wrote
EXTERNAL_PREFIX = "EXTERNAL:"
# the agent-facing line for a rating slot the rating form filled, by slot and by value
RATING_LINES = {"csat": ("Rated {}/5", "Rating skipped"), "nps": ("Would recommend: {}/10", "Recommendation skipped")}
STATE_LINES = {"pause": "Bot paused: a person has the chat", "resume": "Bot resumed"}


def history_from_events(events: List[Dict[str, Any]], detail: bool = False) -> List[Dict[str, Any]]:
    """Messages in order. With `detail` (for agents), visitor turns carry intent, confidence and frustration
    (not for answers to a form, which are not requests), and event lines come in between."""
    out: List[Dict[str, Any]] = []
    in_form = False
    offered: Dict[str, str] = {}
    for event in events:
        kind = event.get("event")
        if kind == "active_loop":
            in_form = bool(event.get("name"))
        elif kind == "user":
            turn = visitor_turn(event, detail and not in_form, offered)
            if turn:
                out.append(turn)
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            agent = (event.get("metadata") or {}).get("agent")
            offered = {b.get("payload"): b.get("title") for b in (event.get("data") or {}).get("buttons") or []}
            out.append({"sender": "agent" if agent else "bot", "agent": agent, "text": event.get("text") or "",
                        "buttons": (event.get("data") or {}).get("buttons") or [], "timestamp": event.get("timestamp")})
        elif detail:
            line = event_line(event)
            if line:
                out.append({"sender": "system", "text": line, "timestamp": event.get("timestamp")})
    return out


def visitor_turn(event: Dict[str, Any], classified: bool, offered: Dict[str, str]) -> Optional[Dict[str, Any]]:
    """A visitor's message, or the title of the button they clicked (clients that do not send display_text)."""
    text = event.get("text") or ""
    shown = (event.get("metadata") or {}).get("display_text") or (offered.get(text) if text.startswith("/") else None)
    if not text or text.startswith(EXTERNAL_PREFIX) or (text.startswith("/") and not shown):
        return None  # an internal trigger, or a payload the visitor never saw as text (the widget's opening /greet)
    turn = {"sender": "visitor", "text": shown or text, "timestamp": event.get("timestamp")}
    if classified:
        parse = event.get("parse_data") or {}
        turn.update(intent=(parse.get("intent") or {}).get("name"),
                    confidence=(parse.get("intent") or {}).get("confidence"),
                    frustration=(parse.get("frustration") or {}).get("score"))
    return turn


def event_line(event: Dict[str, Any]) -> Optional[str]:
    """What an agent reads for a bot event, or None for bookkeeping nobody needs to see."""
    kind = event.get("event")
    if kind in STATE_LINES:
        return STATE_LINES[kind]
    if kind == "slot" and event.get("name") in RATING_LINES:
        given, skipped = RATING_LINES[event["name"]]
        value = str(event.get("value") or "")
        return given.format(value) if value.isdigit() else skipped if value == "skipped" else None
    return None
