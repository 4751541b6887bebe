"""The blended score: lexicon, learned tone and VADER together rank messages; plain signs are never outvoted."""
import json

import pytest

from bot.frustration import blend, training
from bot.frustration.signals import FRUSTRATED_AT, combine, score_message


def test_the_blend_was_trained_on_its_inputs_as_they_are():
    data = json.loads(blend.WEIGHTS_FILE.read_text())["models"][0]
    assert data["training_sha256"] == training.fingerprint(), "run: python -m bot tone-train"
    model = blend.load()["en"]
    assert len(model.coef) == len(model.names) and 0.05 <= model.threshold <= 0.95


@pytest.mark.parametrize("glad", ["JUST GOT MY PARCEL!!! LOVE IT", "OMG the jacket fits PERFECTLY!!!",
                                  "you guys are AMAZING, thank you!!"])
def test_loud_and_glad_is_not_frustrated(glad):
    assert score_message(glad).score < FRUSTRATED_AT


@pytest.mark.parametrize("angry", ["WHERE IS MY PARCEL", "I WANT MY MONEY BACK NOW!!!"])
def test_loud_and_unhappy_is_frustrated(angry):
    assert score_message(angry).score >= FRUSTRATED_AT


def test_a_plain_sign_is_a_floor_under_the_blend():
    text = "this is fucking useless, thanks a lot"
    found = score_message(text)
    plain = combine(s.weight for s in found.signals if s.name not in ("tone", "complaint"))
    assert plain >= FRUSTRATED_AT and found.score >= plain


def test_the_calibration_keeps_order_and_the_threshold():
    points = [blend.calibrated(p, 0.7) for p in (0.0, 0.2, 0.7, 0.9, 1.0)]
    assert points == sorted(points) and points[0] == 0.0 and points[2] == FRUSTRATED_AT and points[-1] == 1.0


def test_a_calm_message_scores_above_zero_yet_carries_no_signal_the_conversation_could_take():
    calm = score_message("could you tell me the opening hours on saturday?")
    assert 0 < calm.score < FRUSTRATED_AT and calm.signals == []
