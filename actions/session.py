"""A new conversation: carry slots over, and greet a signed-in customer with their order in flight."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Dict, List

from rasa_sdk import Action
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions.base import verified_customer
from bot.orders import OrdersUnavailable
from bot.orders.factory import backend
from bot.orders.present import status_phrase

logger = logging.getLogger(__name__)
RECENT_DAYS = 14


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher, tracker, domain) -> List[Dict]:
        events: List[Dict] = [SessionStarted()]
        events += [SlotSet(k, v) for k, v in tracker.slots.items() if v is not None and k != "session_started_metadata"]
        customer = verified_customer(tracker)
        if customer:
            events.append(SlotSet("customer_id", customer))
            try:
                events += await asyncio.to_thread(self._recognise, dispatcher, tracker, customer)
            except OrdersUnavailable as err:  # a greeting is not worth an error message
                logger.warning("no order greeting for %s: %s", tracker.sender_id, err)
        return events + [ActionExecuted("action_listen")]

    def _recognise(self, dispatcher, tracker, customer) -> List[Dict]:
        recent = backend().recent_orders(customer, 3)
        today = dt.date.today()
        current = next((o for o in recent if o.is_open or (
            o.status == "delivered" and o.delivered_at and (today - o.delivered_at.date()).days <= 2)), None)
        if current is None or (today - current.placed_at.date()).days > RECENT_DAYS:
            return []
        meta = tracker.get_slot("session_started_metadata")
        who = meta.get("customer") if isinstance(meta, dict) else None
        name = (who.get("name") if isinstance(who, dict) else None) or "there"
        dispatcher.utter_message(
            response="utter_recognised_customer", name=str(name)[:40], number=current.number, items=current.summary(),
            status_phrase=status_phrase(current, today),
            buttons=[{"title": "Yes, about this order", "payload": f'/track_order{{"order_number": "{current.number}"}}'},
                     {"title": "Something else", "payload": "/deny"}],
        )
        return [SlotSet("order_number", current.number)]
