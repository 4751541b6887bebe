"""Handing a conversation to a person: join the queue (the bot pauses), or leave a message when nobody
can take it; after an agent hands back, ask for a rating once."""
from __future__ import annotations

import asyncio
import logging
import re
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import verified_customer
from bot.frustration.conversation import conversation_frustration
from bot.frustration.labels import described
from bot.handoff import singletons
from bot.handoff.mail import email_in, message_besides_address
from bot.handoff.queue import Handoff, QueueUnavailable
from bot.handoff.records import RecordsUnavailable
from bot.handoff.routing import availability, request_of, team_for
from bot.logsafe import loggable
from bot.orders import OrdersUnavailable
from bot.orders.factory import backend
from bot.settings import get_settings

logger = logging.getLogger(__name__)

HIGH_VALUE_SPEND = Decimal("1000")  # lifetime spend at which a customer gets the full head start
MAX_COMMENT = 2000
NO_COMMENT = {"skip", "no", "nope", "no thanks", "no thank you", "rather not", "pass", "nothing", "later", "none", ""}
SKIP_WORDS = ("skip", "no", "nope", "later", "don't", "dont", "rather not", "pass")


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


def offer_ticket(dispatcher: CollectingDispatcher, why: str, opens_at=None) -> None:
    if why == "closed" and opens_at is not None:
        dispatcher.utter_message(response="utter_handoff_closed", opens=opens_at.strftime("%A %H:%M %Z"))
    else:
        dispatcher.utter_message(response={"closed": "utter_handoff_closed_unknown", "no_agents": "utter_handoff_no_agents",
                                           "waited_too_long": "utter_handoff_waited_too_long"}[why])
    dispatcher.utter_message(response="utter_offer_ticket")


class ActionRequestHuman(Action):
    """Queue the conversation for a person and pause the bot, or, when nobody can come, offer a ticket."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher, tracker, domain) -> List[Dict[str, Any]]:
        queue = singletons.queue()
        frustration, signals = frustration_of(tracker)
        reason = handoff_reason(tracker, frustration)
        try:
            open_now = await availability(queue, singletons.hours())
            if not open_now.ok:
                if upset(tracker, reason):  # the complaint first, then why nobody can come
                    dispatcher.utter_message(response="utter_handoff_sorry")
                offer_ticket(dispatcher, open_now.reason, open_now.opens_at)
                return [SlotSet("handoff_reason", reason), SlotSet("ticket_reason", open_now.reason)]
            customer = verified_customer(tracker)
            intent = topic(tracker)
            handoff = Handoff(
                conversation_id=tracker.sender_id, reason=reason, intent=intent,
                team=team_for(intent), frustration=frustration, signals=signals,
                customer_id=customer or "", customer_verified=bool(customer),
                customer_value=await asyncio.to_thread(customer_value, customer),
                channel=tracker.get_latest_input_channel() or "")
            placement = await queue.enqueue(handoff)
        except QueueUnavailable as err:  # the queue is down: say so, and keep the conversation with the bot
            logger.error("could not queue %s for a person: %s", loggable(tracker.sender_id), loggable(err))
            if upset(tracker, reason):
                dispatcher.utter_message(response="utter_handoff_sorry")
            offer_ticket(dispatcher, "no_agents")
            return [SlotSet("handoff_reason", reason), SlotSet("ticket_reason", "queue_unavailable")]
        if placement.status == "active":
            dispatcher.utter_message(response="utter_handoff_already_connected")
        else:  # a brief apology when things went badly; never a word about "frustration"
            sorry = handoff.reason == "frustration"
            dispatcher.utter_message(response="utter_handoff_queued_sorry" if sorry else "utter_handoff_queued",
                                     position=placement.position or 1, minutes=minutes(placement.eta_seconds))
        return [SlotSet("handoff_reason", reason), ConversationPaused()]


class ActionOfferTicket(Action):
    """The console resumed the bot because the visitor waited too long: apologise and offer a ticket."""

    def name(self) -> str:
        return "action_offer_ticket"

    async def run(self, dispatcher, tracker, domain) -> List[Dict[str, Any]]:
        offer_ticket(dispatcher, "waited_too_long")
        return [SlotSet("ticket_reason", "waited_too_long")]


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        return ["ticket_email", "ticket_message"]

    async def extract_ticket_email(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "ticket_email":
            return {}
        text = tracker.latest_message.get("text") or ""
        # a strict syntax check: the address becomes the To header of the answer (bot.handoff.mail)
        found = {"ticket_email": email_in(text) or "invalid"}
        besides = message_besides_address(text)
        if besides and not tracker.get_slot("ticket_message"):  # both at once: a bad address is asked again, not this
            found["ticket_message"] = besides
        return found

    def validate_ticket_email(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        if not value or value == "invalid":
            dispatcher.utter_message(response="utter_ticket_email_invalid")
            return {"ticket_email": None}
        return {"ticket_email": value}

    def validate_ticket_message(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        text = (value or "").strip() if isinstance(value, str) else ""
        if len(text) < 3:
            dispatcher.utter_message(response="utter_ticket_message_short")
            return {"ticket_message": None}
        return {"ticket_message": text[:4000]}


class ActionCreateTicket(Action):
    def name(self) -> str:
        return "action_create_ticket"

    async def run(self, dispatcher, tracker, domain) -> List[Dict[str, Any]]:
        clear = [SlotSet("ticket_email", None), SlotSet("ticket_message", None)]
        try:
            ticket = await asyncio.to_thread(
                singletons.records().create_ticket, tracker.sender_id, tracker.get_slot("ticket_email"),
                tracker.get_slot("ticket_message"), tracker.get_slot("ticket_reason") or "requested",
                verified_customer(tracker))
        except RecordsUnavailable as err:
            logger.error("ticket for %s not stored: %s", loggable(tracker.sender_id), loggable(err))
            dispatcher.utter_message(response="utter_ticket_failed")
            return []  # keep what they wrote in the slots: asking again re-submits it
        dispatcher.utter_message(response="utter_ticket_created", reference=ticket.reference, email=ticket.email)
        return clear


class ActionHandoffFinished(Action):
    """An agent handed back: the bot is back, and asks for a rating unless this conversation has one."""

    def name(self) -> str:
        return "action_handoff_finished"

    async def run(self, dispatcher, tracker, domain) -> List[Dict[str, Any]]:
        dispatcher.utter_message(response="utter_handoff_finished")
        try:
            rated = await asyncio.to_thread(singletons.records().rating, tracker.sender_id)
        except RecordsUnavailable as err:
            logger.warning("rating state of %s unknown, not asking: %s", loggable(tracker.sender_id), loggable(err))
            rated = True
        if rated:  # filled slots make the rating form finish at once, silently
            return [SlotSet("csat", "done"), SlotSet("nps", "done"), SlotSet("rating_comment", None)]
        return [SlotSet("csat", None), SlotSet("nps", None), SlotSet("rating_comment", None)]


def score_from(text: str, low: int, high: int) -> Optional[str]:
    """A number in range from what the visitor typed or clicked, 'skipped', or None if unreadable."""
    numbers = [int(n) for n in re.findall(r"\b\d{1,2}\b", text or "")]
    if numbers and low <= numbers[0] <= high:
        return str(numbers[0])
    lowered = (text or "").lower()
    if not numbers and any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in SKIP_WORDS):
        return "skipped"
    return None


def low_rating(csat: Any, nps: Any) -> bool:
    """CSAT 1-2 of 5 or NPS 0-6 of 10 (a detractor): worth asking what went wrong."""
    as_int = lambda v: int(v) if isinstance(v, str) and v.isdigit() else None  # noqa: E731
    low_csat, low_nps = as_int(csat), as_int(nps)
    return (low_csat is not None and low_csat <= 2) or (low_nps is not None and low_nps <= 6)


class ValidateRatingForm(FormValidationAction):
    """CSAT, then NPS, then, only after a low rating, what went wrong (free text)."""

    def name(self) -> str:
        return "validate_rating_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        scores = ["csat", "nps"]
        return scores + ["rating_comment"] if low_rating(tracker.get_slot("csat"), tracker.get_slot("nps")) else scores

    async def extract_rating_comment(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "rating_comment":
            return {}
        text = (tracker.latest_message.get("text") or "").strip()
        declined = re.sub(r"[^\w' ]", "", text.lower()).strip() in NO_COMMENT
        return {"rating_comment": "skipped" if declined or not text else text[:MAX_COMMENT]}

    async def extract_csat(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "csat":
            return {}
        return {"csat": score_from(tracker.latest_message.get("text"), 1, 5) or "invalid"}

    async def extract_nps(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "nps":
            return {}
        return {"nps": score_from(tracker.latest_message.get("text"), 0, 10) or "invalid"}

    def validate_csat(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        if value == "invalid":
            dispatcher.utter_message(response="utter_rating_invalid", low=1, high=5)
            return {"csat": None}
        return {"csat": value}

    def validate_nps(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        if value == "invalid":
            dispatcher.utter_message(response="utter_rating_invalid", low=0, high=10)
            return {"nps": None}
        return {"nps": value}


class ActionSaveRating(Action):
    def name(self) -> str:
        return "action_save_rating"

    async def run(self, dispatcher, tracker, domain) -> List[Dict[str, Any]]:
        csat, nps = tracker.get_slot("csat"), tracker.get_slot("nps")
        if csat == "done":  # rated earlier in this conversation
            return []
        comment = tracker.get_slot("rating_comment")
        comment = comment if isinstance(comment, str) and comment != "skipped" else None
        as_int = lambda v: int(v) if isinstance(v, str) and v.isdigit() else None  # noqa: E731
        try:
            handoff = await singletons.queue().get(tracker.sender_id)
        except QueueUnavailable:
            handoff = None
        try:
            await asyncio.to_thread(singletons.records().save_rating, tracker.sender_id, as_int(csat), as_int(nps),
                                    handoff.agent_id if handoff else "", comment)
        except RecordsUnavailable as err:
            logger.error("rating of %s not stored: %s", loggable(tracker.sender_id), loggable(err))
        dispatcher.utter_message(response="utter_thanks_rating_comment" if comment else "utter_thanks_rating")
        return [SlotSet("csat", "done"), SlotSet("nps", "done"), SlotSet("rating_comment", None)]
