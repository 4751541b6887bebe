"""Pure helpers that read a conversation's events (as Rasa stores them): no I/O."""
from __future__ import annotations

from typing import Iterable, Mapping

FALLBACK_INTENT = "nlu_fallback"


def consecutive_fallbacks(events: Iterable[Mapping]) -> int:
    """How many of the visitor's latest messages in a row the bot did not understand."""
    count = 0
    for event in reversed(list(events)):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") != FALLBACK_INTENT:
            break
        count += 1
    return count
