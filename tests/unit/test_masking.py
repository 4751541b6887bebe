"""Personal data masked out of visitor messages before a trainer sees them, and only personal data."""
import pytest

from bot.training.masking import example_text, mask
from bot.training.nlu_data import check_text, comparison_key


@pytest.mark.parametrize("text, masked", [
    ("email me at anna.schmidt@mail.de thanks", "email me at [email] thanks"),
    ("where is #100482?", "where is #[order]?"),
    ("order 100482, 100483 and (100484).", "order [order], [order] and ([order])."),
    ("please call me on +49 30 1234 5678 or 0176-12345678", "please call me on [phone] or [phone]"),
    ("my number is (030) 123 456 78", "my number is [phone]"),
    ("US customer here: (555) 123-4567", "US customer here: [phone]"),
    ("ring 0044 20 7946 0958 after six", "ring [phone] after six"),
    ("phone: 1234 5678", "phone: [phone]"),
    ("my mobile is 030/1234567, order 100482", "my mobile is [phone], order [order]"),
    ("my name is Anna Schmidt and my order is 100482", "my name is [name] [name] and my order is [order]"),
    ("my name is will", "my name is [name]"),
    ("hi, this is Peter, where is #100482?", "hi, this is [name], where is #[order]?"),
    ("i'm Tomasz, i need help", "i'm [name], i need help"),
    ("Regards, Maria", "Regards, [name]"),
    ("thanks, Jürgen Müller", "thanks, [name] [name]"),
    ("where is my refund? thanks, anna", "where is my refund? thanks, [name]"),
    ("a gift for Sophie for Christmas", "a gift for [name] for Christmas"),
    ("Hi Anna, I need an invoice", "Hi [name], I need an invoice"),
    ("the parcel for Mrs Kowalski never came", "the parcel for Mrs [name] never came"),
    ("write to jo@x.io or call +1 555 123 4567", "write to [email] or call [phone]"),
])
def test_personal_data_is_masked(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    "I ordered on 01.12.2026 and paid 1,299.00 EUR, ref 2026-11-20",
    "the jacket costs 49.99 and arrives at 14:00",
    "delivered on 05/12/26 at 09:30",
    "I'm waiting for my parcel from DHL since Monday",
    "I paid with PayPal and Klarna, shipped by DPD to Germany",
    "This is ridiculous, where is my order",
    "Where Is My Order",
    "WHERE IS MY PARCEL",
    "can I pay in bitcoin",
    "is it open on Easter Monday",
    "does the lamp work in the US",
    "do you ship to the Netherlands or Switzerland",
    "I'm not happy with the Apple Pay checkout",
    "this is the third time I ask",
    "thanks",
    "my order number is wrong",
    "I need 2 of the 3 items, code 42",
    "",
])
def test_what_is_no_personal_data_is_kept(text):
    assert mask(text) == text


def test_the_sample_values_make_an_example_the_tokenizer_masks_the_same_way():
    for text in ["where is 314159, mail me at zed@mail.org", "order #271828 please", "no numbers here"]:
        written = example_text(mask(text))
        assert check_text(written) == written
        assert comparison_key(written) == comparison_key(text)
    written = example_text(mask("I'm Tomasz, call +49 176 12345678 about order 100482"))
    assert written == "I'm Alex, call +49 30 1234567 about order 100482"
    assert check_text(written) == written
    assert "__order_number__" in comparison_key(written) and comparison_key(written).count("__order_number__") == 1


def test_example_text_leaves_text_without_placeholders_alone():
    assert example_text("where is my [order] and [name]") == "where is my 100482 and Alex"
    assert example_text("brackets [like this] stay") == "brackets [like this] stay"


def test_masking_is_idempotent():
    for text in ["my name is Anna Schmidt", "call 0176-12345678", "a@b.de order 100482"]:
        assert mask(mask(text)) == mask(text)


@pytest.mark.parametrize("text, masked", [
    ("Anna here, where is my parcel?", "[name] here, where is my parcel?"),
    ("Schmidt, order 100482 missing", "[name], order [order] missing"),
    ("hi im anna schmidt, where is it", "hi im [name] [name], where is it"),
    ("JOHN SMITH here", "[name] [name] here"),
    ("Kevin", "[name]"),
    ("kevin mueller", "[name] [name]"),
    ("Kowalski here, my order is late", "[name] here, my order is late"),
    ("call 49 171 1234567 please", "call [phone] please"),
    ("john dot smith at gmail dot com", "[email]"),
    ("write to anna.k at web dot de please", "write to [email] please"),
])
def test_names_phones_and_emails_the_reviewer_found_are_masked(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", ["DHL", "PayPal", "Berlin", "thanks", "hello", "order status", "Hello, where is it",
                                  "Thanks, that helps", "call me later", "I am at home"])
def test_known_words_alone_or_at_the_start_are_kept(text):
    assert mask(text) == text
