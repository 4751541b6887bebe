"""Shipping questions: with a country named, that country's zone, price and time; without, the general answer."""
from __future__ import annotations

from typing import Dict, List

from rasa_sdk import Action

from bot import shop

MAX_COUNTRIES = 3  # "do you ship to Austria, Switzerland and Italy": one line each, not a list of the world
GENERAL = {
    "delivery_options": "utter_delivery_options", "delivery_period": "utter_delivery_period",
    "faq_shipping_cost": "utter_faq_shipping_cost", "faq_international_shipping": "utter_faq_international_shipping",
}


def countries(tracker) -> List[str]:
    found = [e["value"] for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "country"]
    return list(dict.fromkeys(found))[:MAX_COUNTRIES]


class ActionAnswerShipping(Action):
    def name(self) -> str:
        return "action_answer_shipping"

    def run(self, dispatcher, tracker, domain) -> List[Dict]:
        named = countries(tracker)
        if not named:
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            dispatcher.utter_message(response=GENERAL.get(intent, "utter_faq_shipping_cost"))
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
