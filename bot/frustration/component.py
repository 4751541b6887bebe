"""The Rasa NLU component: every parse result carries `"frustration": {"score", "signals"}`.

Placed after the intent classifiers in config.yml, so a complaint intent counts as a signal."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.frustration.signals import load_lexicon, score_message

FRUSTRATION = "frustration"


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
            result = score_message(message.get(TEXT) or "", intent, self.lexicon)
            message.set(FRUSTRATION, result.as_dict(), add_to_output=True)
        return messages
