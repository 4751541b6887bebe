"""The sentence encoder (all-MiniLM-L6-v2 in numpy, from its package) and the featurizer that feeds it to the
linear classifier: meaning, not wording, brings messages together."""
import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.encoder import EncoderMissing, EncoderSpec, SentenceEncoder, encode, encoder_for, language_of
from bot.nlu.linear import LinearBlendIntentClassifier
from bot.nlu.sentence_features import SentenceEncoderFeaturizer
from tests.unit.conftest import storage_in
from tests.unit.test_linear_blend import EXAMPLES


def cosine(a: str, b: str) -> float:
    va, vb = encode([a, b])
    return float(va @ vb)


def test_paraphrases_are_closer_than_other_requests():
    asked = "where is my parcel"
    assert cosine(asked, "my package still hasn't turned up, any idea where it is?") > 0.5
    assert cosine(asked, "how do I reset my password") < 0.3
    assert cosine("can I get my money back", "I'd like a reimbursement") > cosine("can I get my money back", "I'd like a receipt")


def test_a_batch_gives_each_text_what_it_gets_alone():
    texts = ["hi", "I ordered the blue rain jacket last week and it still says processing, what is going on with it?"]
    together = encode(texts)
    alone = np.vstack([encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)


def test_a_very_long_message_is_cut_not_refused():
    vector = encode(["where is my order " * 400])[0]
    assert np.isfinite(vector).all() and abs(np.linalg.norm(vector) - 1) < 1e-5


def test_a_missing_encoder_package_is_a_clear_error():
    with pytest.raises(EncoderMissing, match="not installed"):
        SentenceEncoder.from_package(EncoderSpec("no_such_encoder_package", "model.zip"))
    with pytest.raises(EncoderMissing, match="no sentence encoder"):
        encoder_for("xx")


def featurizer(**config):
    return SentenceEncoderFeaturizer.create({**SentenceEncoderFeaturizer.get_default_config(), **config}, None, None,
                                            ExecutionContext(GraphSchema({}), node_name="encoder"))


def test_each_message_gets_its_languages_sentence_vector():
    english, korean = Message.build(text="where is my parcel"), Message.build(text="주문한 물건 어디쯤 왔나요")
    featurizer().process([english, korean])
    [feature] = english.features
    assert (feature.type, feature.origin, feature.features.shape) == ("sentence", "encoder", (1, 384))
    assert korean.features == []  # no Korean encoder yet: counts alone
    assert language_of("주문 취소") == "ko" and language_of("cancel my order") == "en"
    with pytest.raises(EncoderMissing):
        featurizer(languages=["en", "xx"])


def classifier_on(path, featurize) -> LinearBlendIntentClassifier:
    storage, resource = storage_in(path), Resource("linear")
    config = {**LinearBlendIntentClassifier.get_default_config(), "diet_weight": 0.0}
    examples = [Message.build(text=t, intent=i) for i, texts in EXAMPLES.items() for t in texts]
    LinearBlendIntentClassifier.create(config, storage, resource, None).train(TrainingData(featurize(examples, True)))
    return LinearBlendIntentClassifier.load(config, storage, resource, None)


UNTAUGHT = {"when will it be delivered": "track_order", "did the courier pick it up": "track_order",
            "any news on the shipment": "track_order", "what's up": "greet"}


def test_the_vectors_let_the_linear_classifier_understand_words_it_was_never_taught(tmp_path, featurizers):
    encoder = featurizer()

    def with_vectors(messages, train=False):
        return encoder.process(featurizers(messages, train))

    counts_only, both = classifier_on(tmp_path / "counts", featurizers), classifier_on(tmp_path / "both", with_vectors)
    assert [b["dense"] for b in both.blocks].count(True) == 1

    def answers(classifier, featurize):
        return {t: classifier.process(featurize([Message.build(text=t)]))[0].get("intent")["name"] for t in UNTAUGHT}

    assert answers(both, with_vectors) == UNTAUGHT
    assert sum(a == UNTAUGHT[t] for t, a in answers(counts_only, featurizers).items()) <= 1  # what the vectors add
