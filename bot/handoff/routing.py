"""Which team a conversation goes to, and whether anyone can take it now."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from bot.handoff.hours import BusinessHours
from bot.handoff.queue import HandoffQueue

TEAMS = ("orders", "payments", "general")
INTENT_TEAMS = {
    **dict.fromkeys(("track_order", "cancel_order", "change_order", "change_shipping_address", "place_order",
                     "set_up_shipping_address", "delivery_options", "delivery_period", "get_refund", "track_refund",
                     "check_cancellation_fee", "check_refund_policy"), "orders"),
    **dict.fromkeys(("payment_issue", "check_payment_methods", "check_invoice", "get_invoice"), "payments"),
}


def team_for(intent: Optional[str]) -> str:
    return INTENT_TEAMS.get(intent or "", "general")


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
