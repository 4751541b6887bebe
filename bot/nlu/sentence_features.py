"""A Rasa featurizer that adds a pretrained sentence encoder's vector to every message.

Rasa's count featurizers only know the words of our own training data, so a customer who says "termination
charge" where we taught "cancellation fee" looks new to them. A sentence encoder trained on a billion
sentence pairs places both near each other. The vector is a dense sentence feature (no sequence feature):
the linear classifier reads it beside the TF-IDF counts (bot/nlu/linear.py).

Encoders are chosen per language (`encoders` in config.yml, see bot.nlu.encoder.ENCODERS); a message in a
language without an encoder gets no vector, and the classifier scores it on its counts alone.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.encoder import ENCODERS, EncoderMissing, encoder_for, language_of

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "languages": ["en"], "default_language": "en"}

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self.validate_config(self._config)
        self.languages = list(self._config["languages"])
        for language in self.languages:  # load now: a missing package fails at start, not on the first message
            encoder_for(language)

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name)

    @staticmethod
    def required_packages() -> List[str]:
        return ["tokenizers", "safetensors"]

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        unknown = [lang for lang in config["languages"] if lang not in ENCODERS]
        if unknown:
            raise EncoderMissing(f"no sentence encoder for {unknown}; known: {sorted(ENCODERS)}")

    def _featurize(self, messages: List[Message]) -> None:
        by_language: Dict[str, List[Message]] = {}
        for message in messages:
            text = message.get(TEXT)
            if text:
                by_language.setdefault(language_of(text, self._config["default_language"]), []).append(message)
        for language, group in by_language.items():
            if language not in self.languages:
                continue
            vectors = encoder_for(language).encode([m.get(TEXT) for m in group])
            for message, vector in zip(group, vectors, strict=True):
                self.add_features_to_message(None, vector.reshape(1, -1).astype(np.float32), TEXT, message)

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data


def sentence_vectors(message: Message) -> Dict[str, np.ndarray]:
    """Each dense featurizer's sentence vector on the message (this one's included), by featurizer."""
    return {
        f.origin: np.asarray(f.features, dtype=np.float64).reshape(-1)
        for f in message.features
        if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and not f.is_sparse()
    }
