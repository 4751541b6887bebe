"""Shipping questions: with a country named, that country's zone, price and time; without, the general answer.
"When will my order arrive" is a delivery-time question about an order already placed: it gets that order's
expected delivery (found and checked as for tracking), after the general times when the order is not known yet."""
from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import base
from actions.base import entity, verified_customer
from actions.orders import ActionTrackOrder
from bot import shop
from bot.orders import OrdersUnavailable
from bot.orders.choose import by_items

MAX_COUNTRIES = 3  # "do you ship to Austria, Switzerland and Italy": one line each, not a list of the world
GENERAL = {
    "delivery_options": "utter_delivery_options", "delivery_period": "utter_delivery_period",
    "faq_shipping_cost": "utter_faq_shipping_cost", "faq_international_shipping": "utter_faq_international_shipping",
}
# "my parcel", "our order", "mine": an order already placed; "if I order today": not yet
MINE = re.compile(r"\b(my|our|mine|ours)\b", re.IGNORECASE)
NOT_YET = re.compile(r"\b(if|when|once) (i|we) (order|buy|purchase|place)\b|\bbefore (i|we) (order|buy)\b", re.IGNORECASE)


def countries(tracker: Tracker) -> List[str]:
    found = [e["value"] for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "country"]
    return list(dict.fromkeys(found))[:MAX_COUNTRIES]


def about_a_placed_order(tracker: Tracker) -> bool:
    """Is this delivery-time question about an order the visitor has already placed? "My parcel", an order
    number, or (signed in) a product from one of their orders: "when is the helmet going to arrive"."""
    if entity(tracker, "order_number") or entity(tracker, "order_ref"):
        return True
    text = tracker.latest_message.get("text") or ""
    if NOT_YET.search(text):
        return False
    if MINE.search(text):
        return True
    customer = verified_customer(tracker)
    try:
        return bool(customer and by_items(base.backend().recent_orders(customer, 10), text))
    except OrdersUnavailable:
        return True  # the tracking answer says the order system is down


class ActionAnswerShipping(Action):
    def name(self) -> str:
        return "action_answer_shipping"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        named = countries(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not named and intent == "delivery_period" and await asyncio.to_thread(about_a_placed_order, tracker):
            if not (verified_customer(tracker) or tracker.get_slot("order_number")):
                dispatcher.utter_message(response="utter_delivery_period")
            return await ActionTrackOrder().run(dispatcher, tracker, domain)
        if not named:
            dispatcher.utter_message(response=GENERAL.get(intent or "", "utter_faq_shipping_cost"))
            return []
        facts = shop.cached_facts()
        for country in named:
            zone = shop.shipping_zone(country, facts)
            if zone is None:
                dispatcher.utter_message(response="utter_shipping_country_not_served", country=country)
                continue
            dispatcher.utter_message(response="utter_shipping_to_country", country=country, zone=zone["zone"],
                                     cost=zone["cost"], free_from=zone["free_from"], delivery=zone["delivery"],
                                     note=zone["note"])
        return []
