from collections import defaultdict

from bot.training.evaluate import folds, load_examples, same_to_the_model


def test_examples_that_read_the_same_share_a_fold():
    twins = [(f"refund {word} order 1004{n}2", f"Refund {word} order #1009{n}7!") for n, word in enumerate("abcdef")]
    examples = [(text, "get_refund") for pair in twins for text in pair]
    examples += [(f"where is my refund {word}", "track_refund") for word in "abcdefghi"]
    parts = folds(examples, 3)
    fold_of = {text: i for i, part in enumerate(parts) for text, _ in part}
    assert [fold_of[a] == fold_of[b] for a, b in twins] == [True] * len(twins)
    assert sorted(e for part in parts for e in part) == sorted(examples)
    for intent in ("get_refund", "track_refund"):  # still dealt evenly over the folds
        sizes = [sum(i == intent for _, i in part) for part in parts]
        assert max(sizes) - min(sizes) <= 2, sizes


def test_no_example_is_taught_as_two_intents():
    """Rasa's validator sees exact repeats only; with numbers and emails masked, the classifier sees more."""
    intents_of = defaultdict(set)
    for text, intent in load_examples():
        intents_of[same_to_the_model(text)].add(intent)
    clashes = {text: sorted(intents) for text, intents in intents_of.items() if len(intents) > 1}
    assert clashes == {}
