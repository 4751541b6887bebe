"""Handing a conversation to a person: join the queue (the bot pauses), or, when nobody can take it, hear why and
be offered a ticket (actions/tickets.py). The rating after an agent hands back is in actions/ratings.py."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import verified_customer
from actions.tickets import offer_ticket
from bot.frustration.conversation import conversation_frustration
from bot.frustration.labels import described
from bot.handoff import singletons
from bot.handoff.queue import Handoff, Placement, QueueUnavailable
from bot.handoff.routing import availability, request_of, team_for
from bot.logsafe import loggable
from bot.orders import OrdersUnavailable
from bot.orders.factory import backend
from bot.settings import get_settings

logger = logging.getLogger(__name__)

HIGH_VALUE_SPEND = Decimal("1000")  # lifetime spend at which a customer gets the full head start


def minutes(seconds: Optional[float]) -> int:
    return max(1, round((seconds or 0) / 60))


def frustration_of(tracker: Tracker) -> Tuple[float, List[Dict[str, Any]]]:
    """The conversation's frustration score and its signals, for the queue's priority and the agent."""
    score, signals = conversation_frustration(tracker.events)
    message = tracker.latest_message.get("frustration") or {}
    return max(score.score, float(message.get("score") or 0)), described(s.as_dict() for s in signals)[:10]


def handoff_reason(tracker: Tracker, frustration: float) -> str:
    previous = [e.get("name") for e in tracker.events if e.get("event") == "action"][-3:]
    if frustration >= get_settings().frustration_offer_at or "utter_offer_help" in previous:
        return "frustration"
    return "repeated_miss" if "utter_offer_human" in previous else "requested"


def topic(tracker: Tracker) -> str:
    """What the conversation is about, for routing: its request, not its last message (bot.handoff.routing)."""
    return request_of(tracker.events)


def upset(tracker: Tracker, reason: str) -> bool:
    """Whether the visitor is unhappy (frustrated, or complaining): they hear an apology before anything else."""
    return reason == "frustration" or tracker.latest_message.get("intent", {}).get("name") == "complaint"


def customer_value(customer: Optional[str]) -> float:
    if not customer:
        return 0.0
    try:
        spend = sum(o.total for o in backend().recent_orders(customer, 20))
    except OrdersUnavailable:
        return 0.0
    return float(min(Decimal(1), spend / HIGH_VALUE_SPEND))


async def handoff_for(tracker: Tracker, reason: str, frustration: float,
                      signals: List[Dict[str, Any]]) -> Handoff:
    """The queue entry: who is waiting, why, for which team, how upset, and (signed in) how valuable a customer."""
    customer = verified_customer(tracker)
    intent = topic(tracker)
    return Handoff(
        conversation_id=tracker.sender_id, reason=reason, intent=intent,
        team=team_for(intent), frustration=frustration, signals=signals,
        customer_id=customer or "", customer_verified=bool(customer),
        customer_value=await asyncio.to_thread(customer_value, customer),
        channel=tracker.get_latest_input_channel() or "")


def nobody_can_come(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, why: str,
                    opens_at: Optional[dt.datetime] = None) -> None:
    """The complaint first (an apology), then why nobody can come, and the offer of a ticket."""
    if upset(tracker, reason):
        dispatcher.utter_message(response="utter_handoff_sorry")
    offer_ticket(dispatcher, why, opens_at)


def tell_placement(dispatcher: CollectingDispatcher, placement: Placement, reason: str) -> None:
    """Already with an agent, or their place in the queue and the wait."""
    if placement.status == "active":
        dispatcher.utter_message(response="utter_handoff_already_connected")
        return
    sorry = reason == "frustration"  # a brief apology when things went badly; never a word about "frustration"
    dispatcher.utter_message(response="utter_handoff_queued_sorry" if sorry else "utter_handoff_queued",
                             position=placement.position or 1, minutes=minutes(placement.eta_seconds))


class ActionRequestHuman(Action):
    """Queue the conversation for a person and pause the bot, or, when nobody can come, offer a ticket."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        queue = singletons.queue()
        frustration, signals = frustration_of(tracker)
        reason = handoff_reason(tracker, frustration)
        try:
            open_now = await availability(queue, singletons.hours())
            if not open_now.ok:
                nobody_can_come(dispatcher, tracker, reason, open_now.reason, open_now.opens_at)
                return [SlotSet("handoff_reason", reason), SlotSet("ticket_reason", open_now.reason)]
            placement = await queue.enqueue(await handoff_for(tracker, reason, frustration, signals))
        except QueueUnavailable as err:  # the queue is down: say so, and keep the conversation with the bot
            logger.error("could not queue %s for a person: %s", loggable(tracker.sender_id), loggable(err))
            nobody_can_come(dispatcher, tracker, reason, "no_agents")
            return [SlotSet("handoff_reason", reason), SlotSet("ticket_reason", "queue_unavailable")]
        tell_placement(dispatcher, placement, reason)
        return [SlotSet("handoff_reason", reason), ConversationPaused()]
