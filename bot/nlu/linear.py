"""The intent classifier: a logistic regression over Rasa's sparse counts (TF-IDF) and, where the pipeline
has one, a sentence encoder's vector (bot/nlu/sentence_features.py), optionally blended with DIET's ranking.

The counts know the words of our training data; the vector knows what a message means, in words we never
taught. A linear model over both beat DIET and the blend of the two on requests written without seeing our
data (see `make bench`). This component weights each featurizer's sentence counts by TF-IDF (sublinear, per
featurizer, L2-normalised), appends the (unit) vector, gives every intent a probability by multinomial
logistic regression and, with `diet_weight` > 0, averages that with DIET's ranking. The fallback classifier
after it reads the result.

The model is stored as plain arrays (no pickle): loading a model file runs no code.
"""
from __future__ import annotations

import inspect
import json
import sys
from typing import Any, Dict, List, Optional, Tuple, Type, cast

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.sentence_features import sentence_vectors

ARRAYS_FILE = "linear.npz"
BLOCKS_FILE = "blocks.json"


def sentence_counts(message: Message) -> Dict[str, scipy.sparse.spmatrix]:
    """Each sparse featurizer's whole-message counts (1 x its vocabulary), by featurizer."""
    return {
        f.origin: f.features
        for f in message.features
        if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()
    }


class Weighting:
    """TF-IDF for one featurizer's counts: sublinear term frequency, idf, L2 norm per message."""

    def __init__(self, idf: np.ndarray) -> None:
        self.idf = idf

    @classmethod
    def fit(cls, counts: scipy.sparse.csr_matrix) -> Weighting:
        n = counts.shape[0]
        documents = np.bincount(counts.indices, minlength=counts.shape[1])  # csr: one column index per nonzero
        return cls(np.log((1 + n) / (1 + documents)) + 1)  # sklearn's smoothed idf

    def row(self, columns: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """One message's weights for its nonzero counts (at `columns`)."""
        weights = (1 + np.log(counts)) * self.idf[columns]
        norm = np.sqrt(weights @ weights)
        return weights / norm if norm else weights


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearBlendIntentClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> str:
        """Rasa's training cache sees only this class's source; `Weighting` is part of the model too."""
        return inspect.getsource(sys.modules[__name__])

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "C": 100.0,  # inverse regularisation: the features are few per message and L2-normalised
            "diet_weight": 0.4,  # share of DIET's confidence in the blend (0: no DIET in the pipeline)
            "vector_weight": 1.0,  # scale of a sentence encoder's (unit) vector beside the L2-normalised counts
            "ranking_length": 10,
        }

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 blocks: Optional[List[Dict[str, Any]]] = None, weightings: Optional[List[Optional[Weighting]]] = None,
                 weights: Optional[np.ndarray] = None, intercept: Optional[np.ndarray] = None,
                 classes: Optional[List[str]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        # [{"origin": featurizer, "width": vocabulary size or vector length, "dense": bool}] in column order
        self.blocks = blocks or []
        self.weightings = weightings or []  # one per block; None for a dense block
        # features x intents, C order: a message's scores are its few nonzero features times their rows
        self.weights = None if weights is None else np.ascontiguousarray(weights)
        self.intercept, self.classes = intercept, classes or []

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LinearBlendIntentClassifier:
        return cls(config, model_storage, resource)

    def _counts(self, messages: List[Message]) -> List[scipy.sparse.csr_matrix]:
        """One (messages x vocabulary) count matrix per featurizer; a featurizer silent on a message gives zeros."""
        rows = [sentence_counts(m) for m in messages]
        out = []
        for block in self.blocks:
            if block.get("dense"):
                continue
            empty = scipy.sparse.csr_matrix((1, block["width"]))
            counts = scipy.sparse.vstack([r.get(block["origin"], empty) for r in rows], format="csr")
            counts.sum_duplicates()
            counts.eliminate_zeros()
            out.append(counts)
        return out

    def _nonzeros(self, message: Message) -> Tuple[np.ndarray, np.ndarray]:
        """The message's features as (columns, TF-IDF values), the featurizers' blocks side by side. Plain numpy:
        at ~150 nonzeros a message, scipy's matrix machinery would cost more than the arithmetic."""
        counts, vectors = sentence_counts(message), sentence_vectors(message)
        columns, values, offset = [np.empty(0, np.int64)], [np.empty(0)], 0
        for block, weighting in zip(self.blocks, self.weightings, strict=True):
            found: Any = vectors.get(block["origin"]) if block.get("dense") else counts.get(block["origin"])
            if block.get("dense"):
                if found is not None:  # a language without an encoder: its messages have counts only
                    columns.append(np.arange(offset, offset + block["width"]))
                    values.append(found * self.config["vector_weight"])
            elif found is not None:
                found = found.tocoo()
                keep = found.data > 0
                columns.append(found.col[keep] + offset)
                values.append(cast(Weighting, weighting).row(found.col[keep], found.data[keep].astype(np.float64)))
            offset += block["width"]
        return np.concatenate(columns), np.concatenate(values)

    def _features(self, messages: List[Message]) -> scipy.sparse.csr_matrix:
        rows = [self._nonzeros(m) for m in messages]
        indptr = np.cumsum([0] + [len(c) for c, _ in rows])
        width = sum(block["width"] for block in self.blocks)
        return scipy.sparse.csr_matrix((np.concatenate([v for _, v in rows]), np.concatenate([c for c, _ in rows]), indptr),
                                       shape=(len(rows), width))

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        widths: Dict[Tuple[str, bool], int] = {}
        for example in examples:
            for origin, counts in sentence_counts(example).items():
                widths[(origin, False)] = counts.shape[1]
            for origin, vector in sentence_vectors(example).items():
                widths[(origin, True)] = len(vector)
        self.blocks = [{"origin": origin, "width": width, "dense": dense} for (origin, dense), width in sorted(widths.items())]
        fitted = iter([Weighting.fit(c) for c in self._counts(examples)])
        self.weightings = [None if block["dense"] else next(fitted) for block in self.blocks]
        model = LogisticRegression(C=self.config["C"], max_iter=1000)
        model.fit(self._features(examples), [e.get(INTENT) for e in examples])
        self.classes = [str(c) for c in model.classes_]
        # with two intents sklearn keeps one row of weights (a sigmoid); as a softmax that is -w/2, +w/2
        coef = model.coef_ if len(self.classes) > 2 else np.vstack([-model.coef_, model.coef_]) / 2
        self.weights = np.ascontiguousarray(coef.T)
        self.intercept = model.intercept_ if len(self.classes) > 2 else np.hstack([-model.intercept_, model.intercept_]) / 2
        self._persist()
        return self._resource

    def _persist(self) -> None:
        assert self.weights is not None and self.intercept is not None  # train() has set them
        with self._model_storage.write_to(self._resource) as directory:
            arrays = {f"idf{i}": w.idf for i, w in enumerate(self.weightings) if w is not None}
            np.savez(directory / ARRAYS_FILE, weights=self.weights, intercept=self.intercept,
                     classes=np.array(self.classes, dtype=str), **arrays)
            (directory / BLOCKS_FILE).write_text(json.dumps(self.blocks), encoding="utf-8")

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LinearBlendIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                blocks = json.loads((directory / BLOCKS_FILE).read_text(encoding="utf-8"))
                with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
                    return cls(config, model_storage, resource, blocks,
                               [Weighting(arrays[f"idf{i}"]) if f"idf{i}" in arrays.files else None
                                for i in range(len(blocks))],
                               arrays["weights"], arrays["intercept"], [str(c) for c in arrays["classes"]])
        except (ValueError, FileNotFoundError):  # trained on no intent examples: DIET's ranking stands
            return cls(config, model_storage, resource)

    def probabilities(self, messages: List[Message]) -> np.ndarray:
        return self._softmax([self._nonzeros(m) for m in messages])

    def _softmax(self, rows: List[Tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        weights = cast(np.ndarray, self.weights)  # None only before training
        scores = np.array([values @ weights[columns] for columns, values in rows])
        scores = scores.reshape(len(rows), len(self.classes)) + self.intercept
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.classes:
            return messages
        todo = [(m, self._nonzeros(m)) for m in messages if m.get(TEXT)]
        todo = [(m, row) for m, row in todo if len(row[0])]  # a message no featurizer saw keeps DIET's answer
        if not todo:
            return messages
        w = self.config["diet_weight"]
        for (message, _), linear in zip(todo, self._softmax([row for _, row in todo]), strict=True):
            blended = dict(zip(self.classes, (1 - w) * linear, strict=True))
            for ranked in message.get(INTENT_RANKING_KEY) or []:
                blended[ranked["name"]] = blended.get(ranked["name"], 0.0) + w * ranked["confidence"]
            ranking: List[Dict[str, Any]] = [{"name": n, "confidence": float(c)} for n, c in blended.items()]
            ranking.sort(key=lambda r: -r["confidence"])
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[: self.config["ranking_length"]], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
