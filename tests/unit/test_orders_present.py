import datetime as dt
from decimal import Decimal

import pytest

from bot.orders import Address, AddressInvalid, Item, Order
from bot.orders.base import is_late, parse_address
from bot.orders.present import cancel_terms, greeting_state, history_lines, money, order_button, status_values
from bot.orders.wording import default_wording


def order(status="shipped", **kw):
    base = dict(number="100482", customer_id="C00001", email="a@example.com", status=status,
                placed_at=dt.datetime(2026, 11, 20, 10), total=Decimal("59.90"), currency="EUR",
                items=[Item("NW-1", "Grey hoodie", 1, Decimal("55.00"))],
                address=Address("Anna", "Hauptstraße 1", "10115", "Berlin", "DE"), carrier="DHL",
                tracking_number="00340434", shipped_at=dt.datetime(2026, 11, 25, 9),
                expected_delivery=dt.date(2026, 11, 27))
    base.update(kw)
    return Order(**base)


def test_money_and_cancel_terms():
    assert money(Decimal("4.9")) == "4.90 EUR"
    assert cancel_terms(order("paid"), Decimal("4.90")) == ("free", Decimal("0"))
    assert cancel_terms(order("packed"), Decimal("4.90")) == ("fee", Decimal("4.90"))
    assert cancel_terms(order("shipped"), Decimal("4.90"))[0] == "too_late"


@pytest.mark.parametrize("amount, currency, shown", [
    ("23.9", "EUR", "23.90 EUR"), (Decimal("2390") / 100, "EUR", "23.90 EUR"), ("0.125", "EUR", "0.13 EUR"),
    ("1134", "EUR", "1134.00 EUR"), ("1200", "JPY", "1200 JPY"), (Decimal("0"), "CHF", "0.00 CHF"),
])
def test_money_as_the_shop_shows_it(amount, currency, shown):
    assert money(Decimal(amount), currency) == shown


def test_an_order_is_late_only_while_on_its_way_past_its_expected_day():
    expected = dt.date(2026, 11, 27)
    assert not is_late(order(), expected)  # due today: not late yet
    assert is_late(order(), dt.date(2026, 11, 28)) and is_late(order("packed"), dt.date(2026, 12, 3))
    for done in ("delivered", "cancelled", "returned"):
        assert not is_late(order(done), dt.date(2026, 12, 3))
    assert not is_late(order("paid", expected_delivery=None), dt.date(2026, 12, 3))


def test_the_greeting_says_yesterday():
    assert greeting_state(order(), dt.date(2026, 11, 26)) == "shipped_yesterday"  # "shipped yesterday with DHL"


def test_status_values_fill_every_placeholder_of_the_responses():
    values = status_values(order(), {"return_days": 30, "refund_days": "5 days", "free_cancel_window": "x", "returns_url": "u"},
                           default_wording())
    assert values["tracking"] == "00340434" and values["expected"] == "Friday, 27 November"


def test_history_and_buttons():
    lines = history_lines([order()], default_wording())
    assert lines.startswith("- #100482, Friday, 20 November: Grey hoodie, 59.90 EUR, shipped")
    assert order_button(order(), "track_order", default_wording())["payload"] == '/track_order{"order_number": "100482"}'


@pytest.mark.parametrize("text, expected", [
    ("Lindenallee 5, 10115 Berlin, DE", ("Lindenallee 5", "10115", "Berlin", "DE")),
    ("Lindenallee 5, 10115, Berlin", ("Lindenallee 5", "10115", "Berlin", "DE")),
    ("Bahnhofstrasse 12\n8001 Zürich\nSwitzerland", ("Bahnhofstrasse 12", "8001", "Zürich", "CH")),
    ("Keizersgracht 10, 1015 CJ Amsterdam, nl", ("Keizersgracht 10", "1015 CJ", "Amsterdam", "NL")),
])
def test_addresses_as_people_type_them(text, expected):
    a = parse_address(text, "Anna", "DE")
    assert (a.street, a.postcode, a.city, a.country) == expected


@pytest.mark.parametrize("text, reason", [
    ("", "empty"), ("Lindenallee, 10115 Berlin", "house number"), ("Lindenallee 5, 1011 Berlin", "postcode"),
    ("just some words", "street"), ("Main St 5, 10115 Berlin, US", "deliver to"),
])
def test_bad_addresses_say_what_to_fix(text, reason):
    with pytest.raises(AddressInvalid, match=reason):
        parse_address(text, "Anna", "DE")
