"""A whitespace tokenizer that shows the intent classifier order numbers, emails and countries as placeholders.

"where is order 100681" and "where is order 100482" should look the same to DIET: masked,
every order number is the token `__order_number__` in training and at run time, so unseen
digits or addresses no longer push a message into the fallback. Offsets stay those of the
raw text, and the entity extractor reads the raw text, so no value is lost. Countries likewise
(`__country__`): "delivery to Germany" is the same question as "delivery to Italy", but Germany's
few training examples leaned to one shipping intent and Italy's to another.
"""
from __future__ import annotations

import re
from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.countries import find_countries
from bot.nlu.entities import EMAIL

MASKS = (
    (re.compile(r"#?\d{6}"), "__order_number__"),
    (EMAIL, "__email__"),
)


def mask(text: str) -> str:
    for pattern, placeholder in MASKS:
        if pattern.fullmatch(text):
            return placeholder
    return text


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MaskingWhitespaceTokenizer(WhitespaceTokenizer):
    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        countries = [(start, end) for _, start, end in find_countries(message.get(attribute) or "")]
        for token in tokens:
            masked = mask(token.text)
            if any(s <= token.start < e for s, e in countries) and token.text.lower() != "the":
                masked = "__country__"
            if masked != token.text:
                token.text = token.lemma = masked
        return tokens
