"""Leaving a message when nobody can take the chat: the offer, the ticket form (email, message) and the ticket."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import verified_customer
from bot.handoff import singletons
from bot.handoff.mail import email_in, message_besides_address
from bot.handoff.records import RecordsUnavailable
from bot.logsafe import loggable

logger = logging.getLogger(__name__)

MAX_TICKET_MESSAGE = 4000
WHY_NOBODY = {"closed": "utter_handoff_closed_unknown", "no_agents": "utter_handoff_no_agents",
              "waited_too_long": "utter_handoff_waited_too_long"}


def offer_ticket(dispatcher: CollectingDispatcher, why: str, opens_at: Optional[dt.datetime] = None) -> None:
    """Say why nobody can come (off shift, and until when; nobody free; waited too long), then offer a ticket."""
    if why == "closed" and opens_at is not None:
        dispatcher.utter_message(response="utter_handoff_closed", opens=opens_at.strftime("%A %H:%M %Z"))
    else:
        dispatcher.utter_message(response=WHY_NOBODY[why])
    dispatcher.utter_message(response="utter_offer_ticket")


class ActionOfferTicket(Action):
    """The console resumed the bot because the visitor waited too long: apologise and offer a ticket."""

    def name(self) -> str:
        return "action_offer_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        offer_ticket(dispatcher, "waited_too_long")
        return [SlotSet("ticket_reason", "waited_too_long")]


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    async def required_slots(self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[str]:
        return ["ticket_email", "ticket_message"]

    async def extract_ticket_email(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "ticket_email":
            return {}
        text = tracker.latest_message.get("text") or ""
        # a strict syntax check: the address becomes the To header of the answer (bot.handoff.mail)
        found = {"ticket_email": email_in(text) or "invalid"}
        besides = message_besides_address(text)
        if besides and not tracker.get_slot("ticket_message"):  # both at once: a bad address is asked again, not this
            found["ticket_message"] = besides
        return found

    def validate_ticket_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[str, Any]:
        if not value or value == "invalid":
            dispatcher.utter_message(response="utter_ticket_email_invalid")
            return {"ticket_email": None}
        return {"ticket_email": value}

    def validate_ticket_message(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[str, Any]:
        text = (value or "").strip() if isinstance(value, str) else ""
        if len(text) < 3:
            dispatcher.utter_message(response="utter_ticket_message_short")
            return {"ticket_message": None}
        return {"ticket_message": text[:MAX_TICKET_MESSAGE]}


class ActionCreateTicket(Action):
    def name(self) -> str:
        return "action_create_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
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
