import pytest

from bot.nlu.entities import find_entities


def values(text, name):
    return [e["value"] for e in find_entities(text) if e["entity"] == name]


@pytest.mark.parametrize("text", [
    "where is order 100482", "order #100482 status", "ORDER NO. 100482!!", "(100482)", "it's 100482.",
    "#100482,please", "order nr 100482 and my email", "100482",
])
def test_order_numbers_whatever_the_punctuation(text):
    assert values(text, "order_number") == ["100482"]


@pytest.mark.parametrize("text", ["call me on 030123456789", "card 4111111111111111", "postcode 10115", "in 2026"])
def test_other_numbers_are_not_order_numbers(text):
    assert values(text, "order_number") == []


@pytest.mark.parametrize("text, email", [
    ("my email is Anna.Mueller12@Example.com", "anna.mueller12@example.com"),
    ("ANNA@EXAMPLE.COM, order 100482", "anna@example.com"),
    ("<anna+shop@mail.example.co.uk>", "anna+shop@mail.example.co.uk"),
])
def test_emails_are_found_and_lowercased(text, email):
    assert values(text, "email") == [email]


def test_digits_inside_an_email_are_not_an_order_number():
    assert values("mail 123456@example.com", "order_number") == []


@pytest.mark.parametrize("text", ["what about my last order", "my LATEST purchase", "the most recent order please"])
def test_last_order_references(text):
    assert values(text, "order_ref") == ["last"]


def test_long_and_odd_input_is_safe():
    assert find_entities("x" * 100_000) == []
    assert find_entities("") == [] and find_entities(None) == []
    assert values("📦 Bestellung 100482 ÄÖÜ", "order_number") == ["100482"]


@pytest.mark.parametrize("token, masked", [
    ("100482", "__order_number__"), ("#100482", "__order_number__"), ("anna@example.com", "__email__"),
    ("1004821", "1004821"), ("order", "order"), ("10115", "10115"),
])
def test_order_numbers_and_emails_are_masked_for_the_classifier(token, masked):
    from bot.nlu.tokenizer import mask

    assert mask(token) == masked


def test_the_tokenizer_masks_but_keeps_offsets():
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.tokenizer import MaskingWhitespaceTokenizer

    tokenizer = MaskingWhitespaceTokenizer(MaskingWhitespaceTokenizer.get_default_config())
    text = "where is order #100482 anna@example.com"
    tokens = tokenizer.tokenize(Message({"text": text}), "text")
    assert [t.text for t in tokens] == ["where", "is", "order", "__order_number__", "__email__"]
    assert text[tokens[3].start:tokens[3].end] == "#100482"


TODAY = __import__("datetime").date(2026, 11, 26)  # a Thursday


@pytest.mark.parametrize("text, day", [
    ("I ordered on 2026-11-20", "2026-11-20"), ("ordered 20.11.2026", "2026-11-20"), ("on 20/11", "2026-11-20"),
    ("bestellt am 20.11.", "2026-11-20"),
    ("the one from 3 March", "2026-03-03"), ("my order from march 3rd", "2026-03-03"), ("3rd of March", "2026-03-03"),
    ("ordered on 1 december", "2025-12-01"),  # no year, in the future: last year's
    ("I ordered yesterday", "2026-11-25"), ("on monday", "2026-11-23"), ("last Thursday", "2026-11-19"),
])
def test_dates_as_people_write_them(text, day):
    from bot.nlu.entities import find_entities

    assert [e["value"] for e in find_entities(text, TODAY) if e["entity"] == "date"] == [day]


@pytest.mark.parametrize("text", ["order 100482", "31.02.2026", "call 030 1234", "version 3.1", "anna.3@example.com"])
def test_not_dates(text):
    from bot.nlu.entities import find_entities

    assert [e for e in find_entities(text, TODAY) if e["entity"] == "date"] == []
