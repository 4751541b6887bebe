"""What every order action shares: who the visitor is, which order they mean, and failing safely.

An order is shown only to its owner: a customer whose signed identity checks out (bot.identity),
or an anonymous visitor who gave the order's number and email. Unknown number, wrong email and
someone else's order get the same answer after the same minimum time. Failures are counted in Redis per
conversation, client address, email and order number (bot.orders.attempts): past a cap no more lookups
(no enumeration), and neither "/restart" nor a new conversation starts the count over.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple, Type, cast

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import identity, shop
from bot.logsafe import loggable
from bot.orders import Order, OrdersUnavailable
from bot.orders.attempts import attempts
from bot.orders.choose import by_items, candidates
from bot.orders.factory import backend
from bot.orders.present import order_button
from bot.orders.wording import Wording
from bot.settings import get_settings

logger = logging.getLogger(__name__)

FAILED_LOOKUP_FLOOR_SECONDS = 0.35  # every failed verification takes at least this long
Found = Tuple[Optional[Order], List[Dict[str, Any]]]  # the order (None: not found or not yet), and the events so far


def entity(tracker: Tracker, name: str) -> Optional[str]:
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") == name and found.get("value"):
            return str(found["value"])
    return None


def verified_customer(tracker: Tracker) -> Optional[str]:
    """The customer whose correctly signed identity came with this turn, else None. Never from the slots or the
    session's first message: those outlive the shop's logout (a customer_id slot is carried into new sessions)."""
    return identity.verified_customer_id(tracker.latest_message.get("metadata"), get_settings().identity_secret)


def lookups_blocked(tracker: Tracker, email: Optional[str] = None, number: Optional[str] = None,
                    by_address: bool = True) -> bool:
    """Past a cap of failed lookups: this conversation's (its slot, or Redis, which "/restart" does not reset),
    or, with by_address, its client address's, or the email's or the order number's."""
    if (tracker.get_slot("failed_lookups") or 0) >= get_settings().order_lookup_max_failures:
        return True
    return attempts().blocked(tracker.sender_id, email, number, by_address)


def owned_order(tracker: Tracker, number: str, customer: Optional[str]) -> Optional[Order]:
    """The order if this visitor may see it: proven with its email in this conversation, or the signed-in
    customer's own. Used when an order is looked up and again when a change to it is made."""
    if number in (tracker.get_slot("verified_orders") or []):
        return backend().order(number)
    return backend().order_for(number, customer_id=customer) if customer else None


def with_address_decision(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The rules branch on address_change_ok after these actions: unless an allowed address change set it, it is false."""
    if any(e.get("name") == "address_change_ok" for e in events):
        return events
    return events + [SlotSet("address_change_ok", False)]


def fee() -> Decimal:
    return Decimal(str(shop.cached_facts()["cancellation_fee"]))


def return_days() -> int:
    """How many days after delivery an order can be returned (shop/facts.yml)."""
    return int(cast(int, shop.cached_facts()["return_days"]))


class OrderAction(Action):
    """Finds the visitor's order, then calls `handle`. Subclasses set `intent` and implement `handle`."""

    intent: str = "track_order"
    ask_if_missing = True  # False: answer without an order rather than asking for one

    def name(self) -> str:
        return f"action_{self.intent}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        try:
            return await asyncio.to_thread(self._run, dispatcher, tracker, domain)
        except OrdersUnavailable as err:
            logger.warning("orders backend unavailable in %s for %s: %s", self.name(), loggable(tracker.sender_id), loggable(err))
            dispatcher.utter_message(response="utter_orders_unavailable")
            return [SlotSet("pending_request", None)]

    def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        events: List[Dict[str, Any]] = []
        customer = verified_customer(tracker)
        if customer and customer != tracker.get_slot("customer_id"):
            events.append(SlotSet("customer_id", customer))
        if lookups_blocked(tracker, by_address=False):  # a signed-in customer's own orders need no guessing
            dispatcher.utter_message(response="utter_lookups_blocked")
            return events
        wording = Wording.from_domain(domain)
        order, more = self.find_order(dispatcher, tracker, customer, wording)
        events += more
        if order is None:
            if not self.ask_if_missing and not more:
                events += self.handle_without_order(dispatcher, tracker)
            return events
        events += [SlotSet("order_number", order.number), SlotSet("pending_request", None)]
        return events + self.handle(dispatcher, tracker, order, wording)

    def find_order(self, dispatcher: CollectingDispatcher, tracker: Tracker, customer: Optional[str],
                   wording: Wording) -> Found:
        named = entity(tracker, "order_number")  # this message names an order
        in_context = None  # "it", "my order": the one the conversation is about
        if not named and not (entity(tracker, "date") or entity(tracker, "order_ref")):
            in_context = tracker.get_slot("order_number")
        email_said = entity(tracker, "email")
        email = email_said or tracker.get_slot("email")
        if named:
            owned = owned_order(tracker, named, customer)
            if owned:
                return owned, []
            if customer:  # a signed-in customer naming an order that is not theirs
                return self._failed(dispatcher, tracker, time.monotonic(), number=named)
        if customer:
            return self._for_customer(dispatcher, tracker, customer, in_context, wording)
        picked = None if named else self._picked_from_proven(tracker)
        if picked:
            return picked, []
        number = named or in_context
        if number and number in (tracker.get_slot("verified_orders") or []):
            return backend().order(number), []
        # a number and an email, one of them new: a failed pair is not tried again, a corrected half is
        if number and email and (named or email_said):
            return self._verify(dispatcher, tracker, number, email, tracker.get_slot("verified_orders") or [])
        if not self.ask_if_missing:
            return None, []
        asking = [SlotSet("pending_request", self.name())]
        if number:
            dispatcher.utter_message(response="utter_ask_order_email", order_number=number)
            return None, asking + [SlotSet("order_number", number)]
        if email:
            dispatcher.utter_message(response="utter_ask_order_number")
            return None, asking + [SlotSet("email", email)]
        dispatcher.utter_message(response="utter_ask_order_details")
        return None, asking

    def _picked_from_proven(self, tracker: Tracker) -> Optional[Order]:
        """A guest with several proven orders names one by what is in it."""
        proven = tracker.get_slot("verified_orders") or []
        if len(proven) < 2:
            return None
        orders = [o for o in (backend().order(n) for n in proven) if o]
        picked = by_items(orders, tracker.latest_message.get("text") or "")
        return picked[0] if len(picked) == 1 else None

    def _for_customer(self, dispatcher: CollectingDispatcher, tracker: Tracker, customer: str,
                      in_context: Optional[str], wording: Wording) -> Found:
        """No order number named: the order by what is in it, by date, "my last order", the one being talked
        about if it fits the request, or the only one that fits; with several, the visitor chooses."""
        placed_on = entity(tracker, "date")
        recent = backend().recent_orders(customer, 20 if placed_on else 10)
        if placed_on:  # "the order I placed on Monday": that day's orders, if any
            recent = [o for o in recent if o.placed_at.date().isoformat() == placed_on] or recent[:5]
        if not recent:
            if self.ask_if_missing:
                dispatcher.utter_message(response="utter_no_orders")
            return None, []
        picked = by_items(recent, tracker.latest_message.get("text") or "")
        if entity(tracker, "order_ref") == "last" or len(recent) == 1 or len(picked) == 1:
            return (picked or recent)[0], []
        # naming a product overrides the order in context: "no, I mean the running shoes order"
        current = owned_order(tracker, in_context, customer) if in_context and not picked else None
        fitting = candidates(picked or recent, self.intent, dt.date.today(), return_days())
        if current and (not fitting or current.number in {o.number for o in fitting}):
            return current, []
        if not fitting and not picked:
            return self.nothing_fits(dispatcher, recent, wording)
        choices = list({o.number: o for o in [current, *(fitting or picked)] if o}.values())
        if len(choices) == 1:
            return choices[0], []
        if not self.ask_if_missing:
            return None, []
        buttons = [order_button(o, self.intent, wording) for o in choices[:4]]
        dispatcher.utter_message(response="utter_which_order", buttons=buttons)
        return None, [SlotSet("pending_request", self.name())]

    def nothing_fits(self, dispatcher: CollectingDispatcher, recent: List[Order], wording: Wording) -> Found:
        """None of the recent orders fits the request: ask among those not cancelled (the answer says why not)."""
        shown = [o for o in recent if o.status != "cancelled"] or recent
        if len(shown) == 1 or not self.ask_if_missing:
            return (shown[0] if self.ask_if_missing else None), []
        dispatcher.utter_message(response="utter_which_order", buttons=[order_button(o, self.intent, wording) for o in shown[:4]])
        return None, [SlotSet("pending_request", self.name())]

    def _verify(self, dispatcher: CollectingDispatcher, tracker: Tracker, number: str, email: str, proven: List[str]) -> Found:
        if lookups_blocked(tracker, email, number):
            dispatcher.utter_message(response="utter_lookups_blocked")
            return None, [SlotSet("pending_request", None)]
        started = time.monotonic()
        found = backend().order_for(number, email=email)
        if found is None:
            return self._failed(dispatcher, tracker, started, email, number)
        return found, [SlotSet("verified_orders", [*proven, found.number]), SlotSet("email", email)]

    def _failed(self, dispatcher: CollectingDispatcher, tracker: Tracker, started: float, email: Optional[str] = None,
                number: Optional[str] = None) -> Found:
        counted = attempts().failed(tracker.sender_id, email, number)
        failures = max((tracker.get_slot("failed_lookups") or 0) + 1, counted or 0)
        time.sleep(max(0.0, FAILED_LOOKUP_FLOOR_SECONDS - (time.monotonic() - started)))
        logger.info("failed order lookup %d in %s", failures, loggable(tracker.sender_id))
        blocked = failures >= get_settings().order_lookup_max_failures or lookups_blocked(tracker, email, number)
        dispatcher.utter_message(response="utter_lookups_blocked" if blocked else "utter_order_not_verified")
        events = [SlotSet("failed_lookups", failures), SlotSet("order_number", None), SlotSet("pending_request", None)]
        if blocked or verified_customer(tracker):
            return None, events
        # a guest may correct just one half: keep the number and email they gave (not as proof: only a
        # matching pair is), and the request, so "sorry, it's anna@example.com" carries on
        tried = [SlotSet("order_number", entity(tracker, "order_number") or tracker.get_slot("order_number")),
                 SlotSet("email", entity(tracker, "email") or tracker.get_slot("email")),
                 SlotSet("pending_request", self.name())]
        return None, events[:1] + tried

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
               wording: Wording) -> List[Dict[str, Any]]:
        """Answer about this order, the small words from `wording` (the domain's)."""
        raise NotImplementedError

    def handle_without_order(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
        return []


def registry() -> Dict[str, Type[OrderAction]]:
    """Every concrete order action by its name, for resuming a request after the visitor gave details."""
    found, todo = {}, list(OrderAction.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        found[cls().name()] = cls
    return found
