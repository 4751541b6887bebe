"""Rasa's FallbackClassifier, which also gives up on a message none of whose words the bot was taught.

The classifiers' confidence says which of the known intents a message is most like, not whether the bot
understood it: keyboard mashing such as "blorp fizzle wum" can come out as out_of_scope at 0.99. A message without a
single word from the training examples cannot have been understood, so the visitor is asked to rephrase
(and the miss counts towards offering a person) instead of getting a confident answer to something else.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Set, Type

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

VOCABULARY_FILE = "known_words.json"


def words_of(message: Message) -> Set[str]:
    return {token.text.lower() for token in message.get(TOKENS_NAMES[TEXT]) or []}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class KnownWordsFallbackClassifier(FallbackClassifier):
    @classmethod
    def required_components(cls) -> List[Type]:
        """Rasa's asks for an intent classifier before it, which its training graph, where this one learns the
        words, does not have; config.yml places it after the intent classifiers."""
        return [Tokenizer]

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> KnownWordsFallbackClassifier:
        return cls(config, model_storage, resource)

    def __init__(self, config: Dict[str, Any], model_storage: Optional[ModelStorage] = None,
                 resource: Optional[Resource] = None, known: Iterable[str] = ()) -> None:
        super().__init__(config)
        self._model_storage, self._resource = model_storage, resource
        self.known: Set[str] = set(known)

    def train(self, training_data: TrainingData) -> Resource:
        self.known = set().union(*(words_of(example) for example in training_data.intent_examples))
        assert self._model_storage is not None and self._resource is not None  # Rasa's create() gives both
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(sorted(self.known)), encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> KnownWordsFallbackClassifier:
        with model_storage.read_from(resource) as directory:
            known = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, known)

    def _should_fallback(self, message: Message) -> bool:
        unknown = bool(self.known) and not (words_of(message) & self.known)
        return unknown or super()._should_fallback(message)
