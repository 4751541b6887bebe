"""The learned tone: frustration as customers write it without swearing, on top of the lexicon."""
import numpy as np
import pytest
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from bot.frustration import tone
from bot.frustration.component import FrustrationScorer
from bot.frustration.signals import score_message
from bot.nlu.encoder import encode

POLITELY_FED_UP = [
    "I was promised a call back on Monday. It is now Friday and nobody has rung.",
    "So that's four emails and two chats about one missing parcel. Impressive.",
    "Honestly I expected better. Three weeks for a refund you said would take five days.",
]
CALM_ABOUT_TROUBLE = [
    "Could you tell me how much it costs to cancel an order that hasn't shipped?",
    "My parcel is a day later than the estimate, no stress, just checking it's on its way.",
    "Hi, I think my card was charged twice for order 300511, could someone take a look?",
]


def test_the_weights_were_trained_on_the_training_file_as_it_is():
    stored = tone.load()["en"]
    data = __import__("json").loads(tone.WEIGHTS_FILE.read_text())["models"][0]
    assert data["training_sha256"] == tone.fingerprint(), "run: python -m bot tone-train"
    assert stored.coef.shape == (384,)


def test_none_of_these_phrases_was_taught():
    taught = {t.lower() for t, _ in tone.training_messages()}
    assert not taught & {t.lower() for t in POLITELY_FED_UP + CALM_ABOUT_TROUBLE}


@pytest.mark.parametrize("text", POLITELY_FED_UP)
def test_polite_frustration_without_a_rude_word_is_frustrated(text):
    assert score_message(text, learned_tone=False).score < 0.5  # the lexicon alone misses it
    result = score_message(text)
    assert result.frustrated and "tone" in [s.name for s in result.signals], result


@pytest.mark.parametrize("text", CALM_ABOUT_TROUBLE)
def test_calm_questions_about_fees_delays_and_charges_stay_calm(text):
    assert not score_message(text).frustrated


def test_a_language_without_a_tone_model_gets_the_lexicon_alone():
    assert tone.tone("세 번째 문의인데 아직도 답이 없네요") is None
    assert [s.name for s in score_message("세 번째 문의인데 아직도 답이 없네요").signals] == []


def test_the_nlu_component_reads_the_pipelines_sentence_vector_instead_of_encoding_again():
    message = Message.build(text="hello")
    vector = encode([POLITELY_FED_UP[1]])[0]
    message.add_features(Features(vector.reshape(1, -1), "sentence", "text", "encoder"))
    FrustrationScorer().process([message])
    assert message.get("frustration")["score"] >= 0.5  # the vector spoke, not the text
    plain = Message.build(text="hello")
    FrustrationScorer().process([plain])
    assert plain.get("frustration")["score"] < 0.5
    np.testing.assert_allclose(tone.tone(POLITELY_FED_UP[1], vector), tone.tone(POLITELY_FED_UP[1]), rtol=1e-5)


def test_the_conversation_takes_the_tone_only_where_the_lexicon_found_nothing():
    from bot.frustration.conversation import TONE_SHARE, Turn, escalating_share

    angry = "this is absolutely ridiculous, nobody answers my emails!!!"
    scored = score_message(angry)
    assert "tone" in [s.name for s in scored.signals]
    assert escalating_share(Turn(angry, scored.signals)) == pytest.approx(
        score_message(angry, learned_tone=False).score)  # the bot still asks before it hands over
    polite = score_message(POLITELY_FED_UP[0])
    [only] = polite.signals
    assert escalating_share(Turn(POLITELY_FED_UP[0], polite.signals)) == pytest.approx(TONE_SHARE * only.weight)


def test_a_clicked_button_has_no_tone():
    assert score_message("/affirm").signals == [] and score_message("show me my orders").signals == []
