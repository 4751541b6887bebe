"""A new conversation: carry slots over; greet, a signed-in customer with their order in flight."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import verified_customer
from bot import identity
from bot.logsafe import loggable
from bot.orders import Order, OrdersUnavailable
from bot.orders.factory import backend
from bot.orders.present import first_name, greeting_state, greeting_values
from bot.orders.wording import Wording
from bot.settings import get_settings

logger = logging.getLogger(__name__)
RECENT_DAYS = 14
NOT_CARRIED = ("session_started_metadata", "customer_id")  # who the visitor is comes from the new session's page
GREETINGS = {  # bot.orders.present.greeting_state: the order's state in the greeting (shop/facts.yml)
    "shipped": "utter_greet_customer_shipped", "shipped_late": "utter_greet_customer_shipped_late",
    "shipped_yesterday": "utter_greet_customer_shipped_yesterday",
    "shipped_yesterday_late": "utter_greet_customer_shipped_yesterday_late",
    "delivered": "utter_greet_customer_delivered", "pending": "utter_greet_customer_pending",
    "paid": "utter_greet_customer_paid", "packed": "utter_greet_customer_packed", "other": "utter_greet_customer",
}


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        events: List[Dict[str, Any]] = [SessionStarted()]
        events += [SlotSet(k, v) for k, v in tracker.slots.items() if v is not None and k not in NOT_CARRIED]
        # the message that starts the session is not the tracker's latest yet: its metadata is in this slot
        customer = identity.verified_customer_id(tracker.get_slot("session_started_metadata"),
                                                 get_settings().identity_secret)
        if customer:
            events.append(SlotSet("customer_id", customer))
        return events + [ActionExecuted("action_listen")]


def order_in_flight(customer: str, today: dt.date) -> Optional[Order]:
    """The customer's recent order still on its way (or delivered in the last two days), if any."""
    recent = backend().recent_orders(customer, 3)
    current = next((o for o in recent if o.is_open or (
        o.status == "delivered" and o.delivered_at and (today - o.delivered_at.date()).days <= 2)), None)
    if current is None or (today - current.placed_at.date()).days > RECENT_DAYS:
        return None
    return current


class ActionGreet(Action):
    """One greeting, whoever it is for: a signed-in customer with an order in flight hears about that order
    (the first time in a session), with its buttons at the end; everyone else gets the shop's greeting."""

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        customer = verified_customer(tracker)
        if customer and not self._greeted_before(tracker):
            try:
                events = await asyncio.to_thread(self._greet_customer, dispatcher, tracker, customer,
                                                 Wording.from_domain(domain))
                if events is not None:
                    return events
            except OrdersUnavailable as err:  # a greeting is not worth an error message
                logger.warning("no order greeting for %s: %s", loggable(tracker.sender_id), loggable(err))
        dispatcher.utter_message(response="utter_greet")
        return []

    @staticmethod
    def _greeted_before(tracker: Tracker) -> bool:
        """Whether this session already had a greeting (a second "hi" gets the plain one)."""
        for event in reversed(tracker.events):
            if event.get("event") == "session_started":
                return False
            if event.get("event") == "action" and event.get("name") == "action_greet":
                return True
        return False

    def _greet_customer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        customer: str, wording: Wording) -> Optional[List[Dict[str, Any]]]:
        today = dt.date.today()
        current = order_in_flight(customer, today)
        if current is None:
            return None
        meta = tracker.get_slot("session_started_metadata")
        who = meta.get("customer") if isinstance(meta, dict) else None
        given = who.get("name") if isinstance(who, dict) else None
        # the name on the customer's own order first: the page's name is whatever the shop page sent
        name = first_name(current.address.name) or (str(given)[:40] if given else "") or wording.no_name
        # the buttons (about this order, something else) are the response's
        dispatcher.utter_message(response=GREETINGS[greeting_state(current, today)], name=name,
                                 **greeting_values(current, wording))
        return [SlotSet("order_number", current.number)]
