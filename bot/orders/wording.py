"""The small words and patterns the order answers are built from ("soon", the date, a history line), read from
the domain's responses like every other text a visitor reads, so that another language is a domain change."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from babel.dates import format_date

from bot.responses import domain_responses

# field -> the response holding it (domain/wording.yml); read by the actions, never uttered
RESPONSES = {
    "date_pattern": "utter_wording_date_pattern", "soon": "utter_wording_soon",
    "our_carrier": "utter_wording_our_carrier", "tracking_pending": "utter_wording_tracking_pending",
    "no_name": "utter_wording_no_name", "item_quantity": "utter_wording_item_quantity",
    "items_more": "utter_wording_items_more", "history_line": "utter_wording_history_line",
    "order_button": "utter_wording_order_button", "locale": "utter_wording_locale",
}


@dataclass(frozen=True)
class Wording:
    date_pattern: str  # a CLDR date pattern, "EEEE, d MMMM"
    soon: str  # a day not known yet
    our_carrier: str  # an order shipped without a carrier recorded
    tracking_pending: str  # no tracking number yet
    no_name: str  # a greeting's name when none is known
    item_quantity: str  # "{quantity} x {name}"
    items_more: str  # "{items} and {more} more"
    history_line: str  # one order in a list of orders
    order_button: str  # the title of a button choosing an order
    locale: str  # the locale the dates are written in, "en"

    @classmethod
    def from_responses(cls, responses: Mapping[str, Any]) -> Wording:
        return cls(**{field: str(responses[name][0]["text"]) for field, name in RESPONSES.items()})

    @classmethod
    def from_domain(cls, domain: Optional[Mapping[str, Any]]) -> Wording:
        """From the domain Rasa sends with each action call; the domain files' when it sent none."""
        responses = (domain or {}).get("responses") or {}
        if not all(name in responses for name in RESPONSES.values()):
            return default_wording()
        return cls.from_responses(responses)

    def day(self, value: Optional[dt.date]) -> str:
        if value is None:
            return self.soon
        value = value.date() if isinstance(value, dt.datetime) else value
        return str(format_date(value, self.date_pattern, locale=self.locale))


@functools.lru_cache(maxsize=1)
def default_wording() -> Wording:
    """The domain files' wording, for code without a domain at hand (the agent console); read once, on first use."""
    return Wording.from_responses(domain_responses())
