"""Pure helpers that read a conversation's events (as Rasa stores them): no I/O."""
from __future__ import annotations

from typing import Iterable, List, Mapping

FALLBACK_INTENT = "nlu_fallback"
# what the bot could not serve: not understood (also the known-words fallback, which gives nlu_fallback),
# or outside the shop's topics; for the visitor both are the bot missing what they need
MISS_INTENTS = frozenset({FALLBACK_INTENT, "out_of_scope"})


def consecutive_misses(events: Iterable[Mapping]) -> int:
    """How many of the visitor's latest messages in a row the bot missed. Answers to a form's questions
    ("4" for a rating reads as nlu_fallback) are not misses: they were understood as answers."""
    missed: List[bool] = []
    in_form = False
    for event in events:
        if event.get("event") == "active_loop":
            in_form = bool(event.get("name"))
        elif event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            missed.append(not in_form and intent in MISS_INTENTS)
    count = 0
    for miss in reversed(missed):
        if not miss:
            break
        count += 1
    return count
