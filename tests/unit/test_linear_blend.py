"""The linear half of the intent blend learns from Rasa's own count features, survives a save and load,
and averages its ranking with DIET's."""
import numpy as np
import pytest
import scipy.sparse
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear import LinearBlendIntentClassifier, Weighting
from tests.unit.conftest import storage_in

EXAMPLES = {
    "track_order": ["where is my order", "where is order 100482", "has my parcel shipped yet", "track my package"],
    "get_refund": ["I want my money back", "refund my order please", "give me a refund", "money back for the lamp"],
    "greet": ["hello", "hi there", "good morning", "hey"],
}


def training_data(featurize):
    messages = [Message.build(text=t, intent=i) for i, texts in EXAMPLES.items() for t in texts]
    return TrainingData(featurize(messages, train=True))


def parsed(featurize, text, diet=None):
    message = featurize([Message.build(text=text)])[0]
    if diet:
        message.set("intent", {"name": max(diet, key=diet.get), "confidence": max(diet.values())})
        message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in diet.items()])
    return message


def trained(tmp_path, featurize, **config):
    storage, resource = storage_in(tmp_path / "model"), Resource("linear")
    config = {**LinearBlendIntentClassifier.get_default_config(), **config}
    LinearBlendIntentClassifier.create(config, storage, resource, None).train(training_data(featurize))
    return LinearBlendIntentClassifier.load(config, storage, resource, None)


def test_a_saved_and_loaded_model_recognises_new_phrasings_on_its_own(tmp_path, featurizers):
    classifier = trained(tmp_path, featurizers, diet_weight=0.0)
    assert {b["origin"] for b in classifier.blocks} == {"words", "chars"}
    for text, intent in [("where is my parcel", "track_order"), ("refund please", "get_refund"), ("hi", "greet")]:
        message = classifier.process([parsed(featurizers, text)])[0]
        assert message.get("intent")["name"] == intent, text
        ranking = message.get("intent_ranking")
        assert [r["name"] for r in ranking][0] == intent
        assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)


def test_the_blend_weighs_diet_and_the_linear_model_as_configured(tmp_path, featurizers):
    only_linear = trained(tmp_path / "a", featurizers, diet_weight=0.0)
    half = trained(tmp_path / "b", featurizers, diet_weight=0.5)
    diet = {"greet": 0.9, "get_refund": 0.1}  # DIET wrong and sure of it
    linear = {r["name"]: r["confidence"] for r in
              only_linear.process([parsed(featurizers, "where is my order 100777", diet)])[0].get("intent_ranking")}
    blended = half.process([parsed(featurizers, "where is my order 100777", diet)])[0]
    got = {r["name"]: r["confidence"] for r in blended.get("intent_ranking")}
    for intent in EXAMPLES:
        assert got[intent] == pytest.approx(0.5 * linear[intent] + 0.5 * diet.get(intent, 0.0))
    assert blended.get("intent") == blended.get("intent_ranking")[0]


def test_an_untrained_model_or_an_empty_message_leaves_diets_answer_alone(tmp_path, featurizers):
    storage = storage_in(tmp_path / "empty")
    config = LinearBlendIntentClassifier.get_default_config()
    LinearBlendIntentClassifier.create(config, storage, Resource("linear"), None).train(TrainingData([]))
    untrained = LinearBlendIntentClassifier.load(config, storage, Resource("linear"), None)
    message = untrained.process([parsed(featurizers, "hello", {"greet": 0.7, "thank": 0.3})])[0]
    assert message.get("intent") == {"name": "greet", "confidence": 0.7}

    classifier = trained(tmp_path, featurizers)
    empty = Message.build(text="")
    assert classifier.process([empty])[0].get("intent") is None


def test_tf_idf_matches_scikit_learn():
    from sklearn.feature_extraction.text import TfidfTransformer

    counts = scipy.sparse.csr_matrix(np.array([[2, 0, 1, 0], [0, 1, 1, 0], [3, 3, 0, 0], [0, 0, 0, 0]]))
    expected = TfidfTransformer(sublinear_tf=True).fit(counts).transform(counts).toarray()
    weighting, got = Weighting.fit(counts), np.zeros(counts.shape)
    for i, row in enumerate(counts):  # message by message, as training and parsing weigh them
        got[i, row.indices] = weighting.row(row.indices, row.data.astype(float))
    np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize("intents", [list(EXAMPLES), ["track_order", "get_refund"]])
def test_the_stored_model_gives_scikit_learns_probabilities(tmp_path, featurizers, intents):
    from sklearn.linear_model import LogisticRegression

    storage, resource = storage_in(tmp_path / "model"), Resource("linear")
    config = LinearBlendIntentClassifier.get_default_config()
    examples = [Message.build(text=t, intent=i) for i in intents for t in EXAMPLES[i]]
    data = TrainingData(featurizers(examples, train=True))
    LinearBlendIntentClassifier.create(config, storage, resource, None).train(data)
    classifier = LinearBlendIntentClassifier.load(config, storage, resource, None)

    reference = LogisticRegression(C=config["C"], max_iter=1000)
    reference.fit(classifier._features(examples), [e.get("intent") for e in examples])
    new = [parsed(featurizers, t) for t in ("where is my refund", "hello, my parcel")]
    expected = reference.predict_proba(classifier._features(new))
    np.testing.assert_allclose(classifier.probabilities(new), expected, rtol=1e-6)
    assert classifier.classes == list(reference.classes_)
