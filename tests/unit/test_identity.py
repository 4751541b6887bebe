import hashlib
import hmac

import pytest

from bot.identity import sign, verified_customer_id

SECRET = "shop-and-bot-share-this"


def test_signature_is_hmac_sha256_hex_of_the_customer_id():
    assert sign("C00017", SECRET) == hmac.new(SECRET.encode(), b"C00017", hashlib.sha256).hexdigest()


@pytest.mark.parametrize("metadata", [
    {"customer": {"id": "C00017", "signature": sign("C00017", SECRET)}},
    {"customer": {"id": "C00017", "signature": sign("C00017", SECRET).upper()}},
    {"id": "C00017", "signature": sign("C00017", SECRET)},
])
def test_a_correct_signature_identifies_the_customer(metadata):
    assert verified_customer_id(metadata, SECRET) == "C00017"


@pytest.mark.parametrize("metadata", [
    None, {}, "C00017", {"customer": "C00017"},
    {"customer": {"id": "C00017"}},
    {"customer": {"id": "C00017", "signature": sign("C00018", SECRET)}},  # someone else's signature
    {"customer": {"id": "C00017", "signature": sign("C00017", "another-secret")}},
    {"customer": {"id": "C00017", "signature": 12345}},
    {"customer": {"id": "x" * 500, "signature": sign("x" * 500, SECRET)}},
    {"customer": {"id": "C00017", "signature": "é" * 64}},  # compare_digest refuses non-ASCII text: no TypeError
    {"customer": {"id": "C00017", "signature": "\ud800" * 64}},
    {"customer": {"id": "C\udc00", "signature": "0" * 64}},  # a lone surrogate cannot even be signed
    {"customer": {"id": "C00017", "signature": sign("C00017", SECRET) + " "}},
])
def test_anything_else_is_anonymous(metadata):
    assert verified_customer_id(metadata, SECRET) is None


def test_no_secret_means_nobody_is_verified():
    assert verified_customer_id({"id": "C1", "signature": sign("C1", "")}, "") is None
