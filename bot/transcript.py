"""The visible transcript of a conversation from its Rasa tracker events: visitor, bot and agent turns."""
from __future__ import annotations

from typing import Any, Dict, List


def history_from_events(events: List[Dict[str, Any]], detail: bool = False) -> List[Dict[str, Any]]:
    """Messages in order. With `detail` (for agents), visitor turns carry intent, confidence and frustration."""
    out = []
    for event in events:
        kind = event.get("event")
        if kind == "user" and event.get("text"):
            shown = (event.get("metadata") or {}).get("display_text")
            if event["text"].startswith("/") and not shown:
                continue  # a payload the visitor never saw as text (the widget's opening /greet)
            turn = {"sender": "visitor", "text": shown or event["text"], "timestamp": event.get("timestamp")}
            if detail:
                parse = event.get("parse_data") or {}
                turn.update(intent=(parse.get("intent") or {}).get("name"),
                            confidence=(parse.get("intent") or {}).get("confidence"),
                            frustration=(parse.get("frustration") or {}).get("score"))
            out.append(turn)
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            agent = (event.get("metadata") or {}).get("agent")
            out.append({"sender": "agent" if agent else "bot", "agent": agent, "text": event.get("text") or "",
                        "buttons": (event.get("data") or {}).get("buttons") or [], "timestamp": event.get("timestamp")})
        elif detail and kind in ("pause", "resume"):
            out.append({"sender": "system", "text": "bot paused" if kind == "pause" else "bot resumed",
                        "timestamp": event.get("timestamp")})
    return out
