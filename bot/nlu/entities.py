"""Order numbers, email addresses, dates, "my last order" and countries found by rules, whatever the casing or punctuation.

Rules beat a learned extractor here: the formats are exact, a miss would block a lookup,
and a rule needs no training examples. `find_entities` is pure and tested on its own.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.countries import find_countries

# our order numbers have 6 digits; "#100482", "no. 100482", "(100482)" and "100482." all count,
# longer digit runs (phone numbers, card numbers) do not
ORDER_NUMBER = re.compile(r"(?<![\d])#?\s?(\d{6})(?![\d])")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}")
LAST_ORDER = re.compile(
    r"\b(?:my\s+)?(?:last|latest|most\s+recent|recent|newest|previous)\s+(?:order|purchase|parcel|package|delivery)\b",
    re.IGNORECASE,
)
MAX_SCAN = 2000  # characters; longer messages are scanned only at the start

MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"])}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTH = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
         r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
DATE_PATTERNS = [
    ("iso", re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("dmy", re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?![\d.]*\d)")),  # 20.11.2026, 20/11/26
    ("dmy", re.compile(r"\b(\d{1,2})/(\d{1,2})()(?![\d/])")),  # 20/11
    ("dmy", re.compile(r"\b(\d{1,2})\.(\d{1,2})\.()(?!\d)")),  # 20.11. (a bare 3.1 is a version, not a date)
    ("day_month", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+{MONTH}\b", re.IGNORECASE)),
    ("month_day", re.compile(rf"\b{MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.IGNORECASE)),
    ("relative", re.compile(r"\b(today|yesterday|day before yesterday)\b", re.IGNORECASE)),
    ("weekday", re.compile(r"\b(?:on\s+|last\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.IGNORECASE)),
]


def _past(day: dt.date, today: dt.date) -> dt.date:
    """A date without a year means the latest such day that is not in the future."""
    return day if day <= today else day.replace(year=day.year - 1)


def _resolve(kind: str, m: re.Match, today: dt.date) -> Optional[dt.date]:
    try:
        if kind == "iso":
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if kind == "dmy":
            year = m.group(3)
            year = int(year) + (2000 if year and len(year) == 2 else 0) if year else today.year
            day = dt.date(year, int(m.group(2)), int(m.group(1)))
            return day if m.group(3) else _past(day, today)
        if kind == "day_month":
            return _past(dt.date(today.year, MONTHS[m.group(2).lower()], int(m.group(1))), today)
        if kind == "month_day":
            return _past(dt.date(today.year, MONTHS[m.group(1).lower()], int(m.group(2))), today)
        if kind == "relative":
            return today - dt.timedelta(days={"today": 0, "yesterday": 1}.get(m.group(1).lower(), 2))
        if kind == "weekday":
            back = (today.weekday() - WEEKDAYS.index(m.group(1).lower())) % 7 or 7
            return today - dt.timedelta(days=back)
    except (ValueError, KeyError):
        return None  # 31.02. and the like: not a date
    return None


def find_dates(text: str, today: dt.date) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    taken: List[Tuple[int, int]] = []
    for kind, pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            day = _resolve(kind, m, today)
            if day:
                taken.append((m.start(), m.end()))
                found.append(_entity("date", day.isoformat(), m.start(), m.end()))
    return found


def find_entities(text: str, today: Optional[dt.date] = None) -> List[Dict[str, Any]]:
    text = (text or "")[:MAX_SCAN]
    found: List[Dict[str, Any]] = []
    emails = []
    for m in EMAIL.finditer(text):
        emails.append((m.start(), m.end()))
        found.append(_entity("email", m.group(0).lower(), m.start(), m.end()))
    for m in ORDER_NUMBER.finditer(text):
        if any(s <= m.start(1) < e for s, e in emails):
            continue  # digits inside an email address
        found.append(_entity("order_number", m.group(1), m.start(1), m.end(1)))
    for m in LAST_ORDER.finditer(text):
        found.append(_entity("order_ref", "last", m.start(), m.end()))
    order_spans = [(e["start"], e["end"]) for e in found if e["entity"] in ("order_number", "email")]
    found += [_entity("country", name, start, end) for name, start, end in find_countries(text)
              if not any(s < end and start < e for s, e in order_spans)]  # "anna@shop.ch" names no country
    found += [d for d in find_dates(text, today or dt.date.today())
              if not any(s < d["end"] and d["start"] < e for s, e in order_spans)]
    return found


def _entity(name: str, value: str, start: int, end: int) -> Dict[str, Any]:
    return {"entity": name, "value": value, "start": start, "end": end, "confidence_entity": 1.0,
            "extractor": "OrderEntityExtractor"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class OrderEntityExtractor(GraphComponent, EntityExtractorMixin):
    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> OrderEntityExtractor:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            new = find_entities(message.get(TEXT))
            if new:
                message.set(ENTITIES, message.get(ENTITIES, []) + new, add_to_output=True)
        return messages
