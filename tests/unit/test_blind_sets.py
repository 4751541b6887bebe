"""The blind sets measure what nobody taught the bot: none of their messages may become a training example."""
from benchmarks.nlu import load_blind, load_examples, same_to_the_model
from bot.settings import ROOT


def test_no_blind_request_is_a_training_example():
    taught = {same_to_the_model(text) for text, _ in load_examples()}
    leaked = sorted(text for text, _ in load_blind() if same_to_the_model(text) in taught)
    assert leaked == []


def test_the_blind_set_covers_every_described_intent_25_times():
    described = [line.split(":")[0][2:] for line in (ROOT / "tests/data/intent_descriptions.md").read_text().splitlines()
                 if line.startswith("- ")]
    counts = {intent: 0 for intent in described}
    for _, intent in load_blind():
        counts[intent] += 1
    assert len(described) == 41
    assert {i: n for i, n in counts.items() if n < 25} == {}
