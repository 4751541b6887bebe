"""The tone of a message, learned: a logistic regression over the sentence encoder's vector (bot/nlu/encoder.py).

The lexicon (signals.py) finds words and patterns: swearing, "third time", SHOUTING. Real customers are more
often frustrated politely: "I was told it would arrive on Sunday", "still nothing, as usual". No word list
covers that; the encoder's vector carries it. The model is trained on tone_training.yml by
`python -m bot tone-train` (training.py) and kept as plain numbers in tone.json, per language: a language without a trained
tone gets the lexicon alone.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
TRAINING_FILE = HERE / "tone_training.yml"
WEIGHTS_FILE = HERE / "tone.json"
C = 10.0  # inverse regularisation; 3-30 measured within 0.01 AUC on the blind set
# the NLU examples of plain requests are calm examples too, at this weight: without them short requests
# ("show me my orders", "track order 100014 ...") read as frustrated, since angry customers write about orders
REQUEST_WEIGHT = 0.3
NOT_PLAIN_REQUESTS = ("complaint", "contact_human_agent", "contact_customer_service", "out_of_scope", "deny")
FLOOR = 0.6  # below this the tone is no evidence (0.5: 2 calm dialogues escalated; 0.7: blind AUC 0.86 vs 0.87)


@dataclass(frozen=True)
class ToneModel:
    language: str
    coef: np.ndarray
    intercept: float

    def probability(self, vector: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-(float(np.asarray(vector).reshape(-1) @ self.coef) + self.intercept))))


def training_messages(path: Path = TRAINING_FILE) -> List[Tuple[str, bool]]:
    return [(m["text"], bool(m["frustrated"])) for m in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]]


def fingerprint(path: Path = TRAINING_FILE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plain_requests(language: str = "en") -> List[str]:
    """The NLU training examples of ordinary requests (not complaints, asks for a person, small talk)."""
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.nlu.encoder import language_of
    from bot.settings import ROOT

    data = load_data(str(ROOT / "data" / "nlu"))
    return [m.get("text") for m in data.intent_examples if m.get("intent") not in NOT_PLAIN_REQUESTS
            and not str(m.get("intent")).startswith("chitchat_") and language_of(m.get("text")) == language]


def fit(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, language: str, messages: int,
        requests: int) -> Dict[str, object]:
    """The model on the training messages' and plain requests' vectors; the result is what tone.json holds
    (training.py gathers the inputs)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=3000).fit(vectors, labels, sample_weight=weights)
    return {"language": language, "C": C, "messages": messages, "requests": requests,
            "training_sha256": fingerprint(),
            "intercept": float(model.intercept_[0]), "coef": [round(float(w), 6) for w in model.coef_[0]]}


def write(models: Sequence[Dict[str, object]], path: Path = WEIGHTS_FILE) -> None:
    path.write_text(json.dumps({"models": list(models)}, indent=1) + "\n", encoding="utf-8")


@functools.lru_cache(maxsize=4)
def load(path: Path = WEIGHTS_FILE) -> Dict[str, ToneModel]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {m["language"]: ToneModel(m["language"], np.asarray(m["coef"], dtype=np.float64), float(m["intercept"]))
            for m in data["models"]}


def tone(text: str, vector: Optional[np.ndarray] = None) -> Optional[float]:
    """The probability that the message reads as frustrated, or None when its language has no tone model.
    Pass the message's sentence vector when the NLU pipeline has it, so it is not encoded twice."""
    from bot.nlu.encoder import EncoderMissing, encode, language_of

    model = load().get(language_of(text))
    if model is None:
        return None
    if vector is None:
        try:
            vector = encode([text], model.language)[0]
        except EncoderMissing:
            return None
    return model.probability(vector)
