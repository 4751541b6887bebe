"""`python -m bot tone-train`: the learned tone (tone.json), then the blend over lexicon, tone and VADER
(blend.json), both from tone_training.yml and the NLU data's plain requests."""
from __future__ import annotations

from typing import Dict, List, Tuple, cast

import numpy as np

from bot.frustration import blend, tone
from bot.frustration.signals import combine, score_message

LABELLED = "tests/data/frustration_messages.yml"


def out_of_fold_tone(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each message's tone from a model that did not see it, as the blend will meet the tone on new messages."""
    from sklearn.linear_model import LogisticRegression

    folds = np.arange(len(labels)) % blend.FOLDS
    out = np.zeros(len(labels))
    for k in range(blend.FOLDS):
        held = folds == k
        model = LogisticRegression(C=tone.C, max_iter=3000).fit(vectors[~held], labels[~held],
                                                                sample_weight=weights[~held])
        out[held] = model.predict_proba(vectors[held])[:, 1]
    return out


def labelled_messages(language: str = "en") -> List[Tuple[str, bool]]:
    """tests/data/frustration_messages.yml: the labelled messages (English) the lexicon was tuned on; the
    benchmark reads them here too."""
    import yaml

    from bot.settings import ROOT

    if language != "en":
        return []
    data = yaml.safe_load((ROOT / LABELLED).read_text(encoding="utf-8"))
    return [(t, True) for t in data["frustrated"]] + [(t, False) for t in data["neutral"]]


def lexicon_of(text: str) -> Tuple[Dict[str, float], float]:
    found = score_message(text, learned_tone=False, blended=False)
    signals = {s.name: s.weight for s in found.signals}
    return signals, combine(signals.values())


def train(language: str = "en") -> Tuple[Dict[str, object], Dict[str, object]]:
    """The tone model and the blend, as tone.json and blend.json hold them."""
    from bot.nlu.encoder import encode

    messages, requests = tone.training_messages(), tone.plain_requests(language)
    texts: List[str] = [t for t, _ in messages] + requests
    labels = np.array([y for _, y in messages] + [False] * len(requests))
    weights = np.array([1.0] * len(messages) + [tone.REQUEST_WEIGHT] * len(requests))
    vectors = encode(texts, language)
    tone_model = tone.fit(vectors, labels, weights, language, len(messages), len(requests))
    # the blend also learns from the labelled messages the lexicon was written against (their tone: a model that
    # never saw them), so it keeps what the lexicon knows about swearing and shouting
    tuned = labelled_messages(language)
    fitted_tone = tone.ToneModel(language, np.asarray(tone_model["coef"]), float(cast(float, tone_model["intercept"])))
    tones = np.concatenate([out_of_fold_tone(vectors, labels, weights),
                            [fitted_tone.probability(v) for v in encode([t for t, _ in tuned], language)]])
    texts += [t for t, _ in tuned]
    labels = np.concatenate([labels, [y for _, y in tuned]])
    weights = np.concatenate([weights, np.ones(len(tuned))])
    calm = ~labels
    calm[len(messages):len(messages) + len(requests)] = False  # plain requests are easy: not what sets the line
    names = blend.feature_names(with_vader=language == "en")  # VADER reads English
    rows = []
    for text, p in zip(texts, tones, strict=True):
        signals, lexicon_score = lexicon_of(text)
        rows.append(blend.features(names, signals, lexicon_score, float(p), blend.polarity(names, text)))
    fitted = blend.fit(np.vstack(rows), labels, weights, calm_rows=calm)
    return tone_model, {"language": language, "names": names, "messages": len(messages), "requests": len(requests),
                        "labelled": len(tuned), "training_sha256": fingerprint(), **fitted}


def fingerprint() -> str:
    """Of everything the blend learns from: a test fails when blend.json is older than its inputs."""
    from bot.settings import ROOT

    return tone.fingerprint() + ":" + tone.fingerprint(ROOT / LABELLED)


def train_and_write() -> str:
    tone_model, blend_model = train("en")
    tone.write([tone_model])
    blend.write([blend_model])
    tone.load.cache_clear()
    blend.load.cache_clear()
    return (f"{tone.WEIGHTS_FILE.name} and {blend.WEIGHTS_FILE.name}: trained on {tone_model['messages']} messages "
            f"and {tone_model['requests']} plain requests")
