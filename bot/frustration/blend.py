"""A message's frustration score: a logistic regression over what the lexicon found, the learned tone and VADER.

Each alone misses a kind of customer: the lexicon hears swearing and "third time" but not polite anger, the tone
(tone.py) hears polite anger but not always sarcasm, VADER hears positive and negative words but calls joyful
capitals ("JUST GOT IT!!! LOVE IT") and "thanks for waiving the late fee" what they are. The blend learns how
much each is worth, on the tone's training messages and the labelled messages (tests/data/frustration_messages.yml),
with the tone's probabilities taken out of fold so the blend does not learn to trust a tone that has seen the
answer. It is kept as plain numbers in blend.json, per language, and trained by `python -m bot tone-train`.

The probability is then mapped so that FRUSTRATED_AT (0.5) falls where calm training messages are flagged at
CALM_FLAGGED: the score ranks messages by the blend, and the one threshold keeps its meaning for analytics.
signals.score_message keeps the lexicon's signs as a floor under it, loud ones only where the message does not
read glad. The conversation's
escalation reads the signals, not this score (conversation.py).
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
WEIGHTS_FILE = HERE / "blend.json"
FRUSTRATED_AT = 0.5
CALM_FLAGGED = 0.03  # the share of calm training messages scored frustrated (plain requests not counted)
C = 1.0
FOLDS = 5
# the lexicon's signals the blend reads (the complaint intent is not one: the training messages have no intent)
SIGNALS = ("anger", "demand", "human", "insult", "long_time", "mild_profanity", "profanity", "punctuation",
           "repetition", "sarcasm", "service_failure", "shouted_word", "shouting", "threat", "waiting")
LOUD = ("shouting", "shouted_word", "punctuation")
GLAD = 0.3  # VADER's compound from which a loud message reads as glad
VADER = ("vader_compound", "vader_positive", "vader_negative") + tuple(f"unhappy:{n}" for n in LOUD)


@functools.lru_cache(maxsize=1)
def vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def polarity(names: Sequence[str], text: str) -> Optional[Dict[str, float]]:
    """VADER's reading of the message, where the blend reads it (once per message: the features and the floor
    in signals.py both use it)."""
    return vader().polarity_scores(text) if any(n in VADER for n in names) else None


def features(names: Sequence[str], lexicon: Mapping[str, float], lexicon_score: float, tone: Optional[float],
             polarity: Optional[Mapping[str, float]]) -> np.ndarray:
    """The blend's inputs for one message, in the order `names` gives."""
    values: Dict[str, float] = {f"signal:{n}": w for n, w in lexicon.items()}
    values["lexicon"] = lexicon_score
    p = min(max(0.5 if tone is None else tone, 1e-4), 1 - 1e-4)
    values["tone_logit"] = math.log(p / (1 - p))
    if polarity is not None:
        values.update(vader_compound=polarity["compound"], vader_positive=polarity["pos"],
                      vader_negative=polarity["neg"])
        # loud and not glad: "WHERE IS MY ORDER" is anger, "JUST GOT IT!!! LOVE IT" is joy
        unhappy = float(polarity["compound"] < GLAD)
        for name in LOUD:
            values[f"unhappy:{name}"] = unhappy * lexicon.get(name, 0.0)
    return np.array([values.get(n, 0.0) for n in names], dtype=np.float64)


def feature_names(with_vader: bool = True) -> List[str]:
    return [f"signal:{n}" for n in SIGNALS] + ["lexicon", "tone_logit"] + (list(VADER) if with_vader else [])


@dataclass(frozen=True)
class BlendModel:
    language: str
    names: Tuple[str, ...]
    coef: np.ndarray
    intercept: float
    threshold: float  # the probability that maps to FRUSTRATED_AT

    def probability(self, x: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-(float(x @ self.coef) + self.intercept))))

    def polarity(self, text: str) -> Optional[Dict[str, float]]:
        return polarity(self.names, text)

    @staticmethod
    def glad(polarity: Optional[Mapping[str, float]]) -> bool:
        """Does the message read glad (VADER, where the blend reads it)? Loud and glad is joy, not anger."""
        return polarity is not None and polarity["compound"] >= GLAD

    def score(self, lexicon: Mapping[str, float], lexicon_score: float, tone: Optional[float],
              polarity: Optional[Mapping[str, float]]) -> float:
        return calibrated(self.probability(features(self.names, lexicon, lexicon_score, tone, polarity)),
                          self.threshold)


def calibrated(probability: float, threshold: float) -> float:
    """Monotone, piecewise linear: 0 -> 0, threshold -> FRUSTRATED_AT, 1 -> 1."""
    if probability <= threshold:
        return FRUSTRATED_AT * probability / threshold
    return FRUSTRATED_AT + (1 - FRUSTRATED_AT) * (probability - threshold) / (1 - threshold)


def fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray, calm_rows: np.ndarray) -> Dict[str, object]:
    """The regression and the probability above which CALM_FLAGGED of the calm rows fall."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000).fit(x, y, sample_weight=weights)
    calm = np.sort(model.predict_proba(x[calm_rows])[:, 1])
    threshold = float(calm[min(len(calm) - 1, int(math.ceil((1 - CALM_FLAGGED) * len(calm))))])
    return {"intercept": float(model.intercept_[0]), "coef": [round(float(w), 6) for w in model.coef_[0]],
            "threshold": round(min(max(threshold, 0.05), 0.95), 6)}


def write(models: Sequence[Dict[str, object]], path: Path = WEIGHTS_FILE) -> None:
    path.write_text(json.dumps({"models": list(models)}, indent=1) + "\n", encoding="utf-8")


@functools.lru_cache(maxsize=4)
def load(path: Path = WEIGHTS_FILE) -> Dict[str, BlendModel]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {m["language"]: BlendModel(m["language"], tuple(m["names"]), np.asarray(m["coef"], dtype=np.float64),
                                      float(m["intercept"]), float(m["threshold"])) for m in data["models"]}
