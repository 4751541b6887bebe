"""Which team a conversation goes to, and whether anyone can take it now."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, TypeGuard

from bot.handoff.hours import BusinessHours
from bot.handoff.queue import HandoffQueue

TEAMS = ("orders", "payments", "general")
INTENT_TEAMS = {
    **dict.fromkeys(("track_order", "order_history", "cancel_order", "change_order", "change_shipping_address", "place_order",
                     "set_up_shipping_address", "delivery_options", "delivery_period", "get_refund", "track_refund",
                     "check_cancellation_fee", "check_refund_policy"), "orders"),
    **dict.fromkeys(("payment_issue", "check_payment_methods", "check_invoice", "get_invoice"), "payments"),
}


# What a visitor says that is not itself a request: answers to the bot's questions (an order number or an
# email is "inform", yes/no), greetings and small talk, misses, moods, and asking for a person. Routing by
# these sent an angry guest with an order problem to "general" because their last message gave an email.
NOT_REQUESTS = frozenset({
    "inform", "affirm", "deny", "nlu_fallback", "out_of_scope", "greet", "goodbye", "thank", "complaint",
    "contact_human_agent", "contact_customer_service", "leave_message"})
NOT_REQUEST_PREFIXES = ("chitchat_", "handoff_")  # handoff_*: the console's EXTERNAL events, not the visitor


def team_for(intent: Optional[str]) -> str:
    return INTENT_TEAMS.get(intent or "", "general")


def is_request(intent: Optional[str]) -> TypeGuard[str]:
    if not intent:
        return False
    return intent not in NOT_REQUESTS and not intent.startswith(NOT_REQUEST_PREFIXES)


def request_of(events: Sequence[Dict[str, Any]]) -> str:
    """The conversation's request, for routing: the last thing the visitor asked for in this session
    (track_order), not what their last message happened to be ("100841, anna@example.com": inform)."""
    for event in reversed(events):
        if event.get("event") == "session_started":
            break
        if event.get("event") != "user" or str(event.get("text") or "").startswith("EXTERNAL:"):
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if is_request(intent):
            return intent
    return ""


@dataclass
class Availability:
    ok: bool
    reason: str = ""  # closed | no_agents
    opens_at: Optional[dt.datetime] = None


async def availability(queue: HandoffQueue, hours: BusinessHours, now: Optional[dt.datetime] = None) -> Availability:
    now = now or dt.datetime.now(dt.timezone.utc)
    if not hours.is_open(now):
        return Availability(False, "closed", hours.next_opening(now))
    if not any(agent.status == "available" for agent in await queue.agents()):
        return Availability(False, "no_agents")
    return Availability(True)
