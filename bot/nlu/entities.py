"""Order numbers, email addresses and "my last order" found by rules, whatever the casing or punctuation.

Rules beat a learned extractor here: the formats are exact, a miss would block a lookup,
and a rule needs no training examples. `find_entities` is pure and tested on its own.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

# our order numbers have 6 digits; "#100482", "no. 100482", "(100482)" and "100482." all count,
# longer digit runs (phone numbers, card numbers) do not
ORDER_NUMBER = re.compile(r"(?<![\d])#?\s?(\d{6})(?![\d])")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}")
LAST_ORDER = re.compile(
    r"\b(?:my\s+)?(?:last|latest|most\s+recent|recent|newest|previous)\s+(?:order|purchase|parcel|package|delivery)\b",
    re.IGNORECASE,
)
MAX_SCAN = 2000  # characters; longer messages are scanned only at the start


def find_entities(text: str) -> List[Dict[str, Any]]:
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
