"""The blind sets measure what nobody taught the bot: none of their messages may become a training example."""
import pytest

from benchmarks.frustration import BLIND, COMPLAINTS, blind_labelled, labelled
from bot.frustration.tone import training_messages
from bot.settings import ROOT
from bot.training.evaluate import BLIND_SET, HOLDOUT_SET, load_blind, load_examples, same_to_the_model


@pytest.mark.parametrize("blind", [BLIND_SET, HOLDOUT_SET], ids=["blind", "holdout"])
def test_no_blind_request_is_a_training_example(blind):
    taught = {same_to_the_model(text) for text, _ in load_examples()}
    leaked = sorted(text for text, _ in load_blind(blind) if same_to_the_model(text) in taught)
    assert leaked == []


def test_the_blind_set_covers_every_described_intent_25_times():
    described = [line.split(":")[0][2:] for line in (ROOT / "tests/data/intent_descriptions.md").read_text().splitlines()
                 if line.startswith("- ")]
    counts = {intent: 0 for intent in described}
    for _, intent in load_blind():
        counts[intent] += 1
    assert len(described) == 41
    assert {i: n for i, n in counts.items() if n < 25} == {}


@pytest.mark.parametrize("blind", [BLIND, COMPLAINTS], ids=["frustration", "complaints"])
def test_no_blind_frustration_message_is_a_tone_training_or_lexicon_tuning_message(blind):
    taught = {same_to_the_model(text) for text, _ in training_messages() + labelled()}
    taught |= {same_to_the_model(text) for text, _ in load_examples()}  # the tone's calm negatives
    leaked = sorted(text for text, _ in blind_labelled(blind) if same_to_the_model(text) in taught)
    assert leaked == []


@pytest.mark.parametrize("blind", [BLIND, COMPLAINTS], ids=["frustration", "complaints"])
def test_a_blind_frustration_set_is_at_least_300_messages_about_half_frustrated(blind):
    labels = [frustrated for _, frustrated in blind_labelled(blind)]
    assert len(labels) >= 300 and 0.4 <= sum(labels) / len(labels) <= 0.6
