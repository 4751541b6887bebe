"""The fallback classifier asks to rephrase when no word of a message was ever taught, whatever DIET says."""
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.fallback import KnownWordsFallbackClassifier
from bot.nlu.tokenizer import MaskingWhitespaceTokenizer

CONFIG = {**KnownWordsFallbackClassifier.get_default_config(), "threshold": 0.5, "ambiguity_threshold": 0.1}


def tokenized(text, intent=None):
    message = Message.build(text=text, intent=intent)
    MaskingWhitespaceTokenizer(MaskingWhitespaceTokenizer.get_default_config()).process([message])
    return message


def parsed(text, intent, confidence):
    message = tokenized(text)
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


def decided(classifier, text, intent="out_of_scope", confidence=0.99):
    return classifier.process([parsed(text, intent, confidence)])[0].get("intent")["name"]


def test_taught_words_are_remembered_with_the_model_and_unknown_messages_fall_back(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("known_words")
    training = TrainingData([tokenized("where is my Order 100482", "track_order"), tokenized("who painted it", "out_of_scope")])
    KnownWordsFallbackClassifier.create(CONFIG, storage, resource, None).train(training)
    classifier = KnownWordsFallbackClassifier.load(CONFIG, storage, resource, None)

    assert decided(classifier, "blorp fizzle wum") == "nlu_fallback"
    assert decided(classifier, "?!") == "nlu_fallback"
    assert decided(classifier, "ORDER 100999 pls", "track_order") == "track_order"  # one known word will do
    assert decided(classifier, "100777", "inform") == "inform"  # order numbers are one masked word
    assert decided(classifier, "where is it", "track_order", confidence=0.3) == "nlu_fallback"  # as Rasa's


def test_a_classifier_that_knows_no_words_only_falls_back_as_rasas_does():
    classifier = KnownWordsFallbackClassifier(CONFIG)
    assert decided(classifier, "blorp fizzle wum") == "out_of_scope"
