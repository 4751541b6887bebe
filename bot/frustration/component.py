"""The Rasa NLU component: every parse result carries `"frustration": {"score", "signals"}`.

Placed after the intent classifiers in config.yml, so a complaint intent counts as a signal, and after the sentence
encoder, whose vector the learned tone reads (bot/frustration/tone.py)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.frustration.signals import load_lexicon, score_message
from bot.nlu.sentence_features import sentence_vectors

FRUSTRATION = "frustration"


def sentence_vector(message: Message) -> Optional[np.ndarray]:
    """The sentence encoder's vector, when the pipeline's featurizer gave the message one: the tone reads it
    instead of encoding the text a second time."""
    return next(iter(sentence_vectors(message).values()), None)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class FrustrationScorer(GraphComponent):
    """Adds the message's frustration score and its signals to the parse result."""

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> FrustrationScorer:
        return cls()

    def __init__(self) -> None:
        self.lexicon = load_lexicon()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            result = score_message(message.get(TEXT) or "", intent, self.lexicon, vector=sentence_vector(message))
            message.set(FRUSTRATION, result.as_dict(), add_to_output=True)
        return messages
