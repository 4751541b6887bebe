"""Which order a request is about (bot.orders.choose) and when one is late (bot.orders.present): pure rules."""
import dataclasses
import datetime as dt
from decimal import Decimal

from bot import shop
from bot.orders import Address, Item, Order, Refund
from bot.orders.base import is_late
from bot.orders.choose import by_items, candidates
from bot.orders.present import tracking_link

TODAY = dt.date(2026, 12, 3)


def order(number, status, *items, delivered_days_ago=None, expected=None, **kw):
    delivered = dt.datetime.combine(TODAY, dt.time(10)) - dt.timedelta(days=delivered_days_ago) \
        if delivered_days_ago is not None else None
    return Order(number=number, customer_id="C00001", email="a@example.com", status=status,
                 placed_at=dt.datetime(2026, 11, 1, 10), total=Decimal("99.00"), currency="EUR",
                 items=[Item(f"NW-{i}", name, 1, Decimal("10")) for i, name in enumerate(items or ["Desk lamp"])],
                 address=Address("Anna", "Hauptstraße 1", "10115", "Berlin", "DE"), carrier="DHL",
                 tracking_number="0034043412", delivered_at=delivered, expected_delivery=expected, **kw)


def numbers(orders):
    return [o.number for o in orders]


def test_tracking_offers_what_is_on_its_way_not_cancelled_or_long_delivered_orders():
    orders = [order("1", "shipped"), order("2", "cancelled"), order("3", "delivered", delivered_days_ago=2),
              order("4", "delivered", delivered_days_ago=60), order("5", "paid")]
    assert numbers(candidates(orders, "track_order", TODAY, 30)) == ["1", "3", "5"]


def test_a_refund_is_about_orders_delivered_within_the_return_window():
    refund = Refund(Decimal("99"), "requested", dt.datetime(2026, 11, 30), None)
    orders = [order("1", "shipped"), order("2", "delivered", delivered_days_ago=5),
              order("3", "delivered", delivered_days_ago=45), order("4", "returned", refund=refund)]
    assert numbers(candidates(orders, "get_refund", TODAY, 30)) == ["2", "4"]
    assert numbers(candidates(orders, "cancel_order", TODAY, 30)) == []


def test_a_product_name_picks_the_order():
    orders = [order("1", "delivered", "Rain jacket"), order("2", "delivered", "Running shoes", "Wool socks (3 pairs)"),
              order("3", "shipped", "Ceramic coffee mug")]
    assert numbers(by_items(orders, "no, I mean the running shoes order")) == ["2"]
    assert numbers(by_items(orders, "the one with the socks")) == ["2"]  # one word of the name, plural or not
    assert numbers(by_items(orders, "the mugs")) == ["3"]


def test_words_that_name_no_product_pick_nothing():
    orders = [order("1", "delivered", "Rain jacket"), order("2", "delivered", "Running shoes")]
    assert by_items(orders, "I want a refund for my order") == []
    assert by_items(orders, "") == []


def test_two_orders_with_the_named_product_are_both_offered():
    orders = [order("1", "delivered", "Running shoes"), order("2", "delivered", "Running shoes"),
              order("3", "delivered", "Desk lamp")]
    assert numbers(by_items(orders, "the running shoes")) == ["1", "2"]


def test_an_order_is_late_once_its_expected_day_has_passed_and_it_has_not_arrived():
    assert is_late(order("1", "shipped", expected=dt.date(2026, 11, 29)), TODAY)
    assert not is_late(order("1", "shipped", expected=TODAY), TODAY)  # due today: not late yet
    assert not is_late(order("1", "delivered", expected=dt.date(2026, 11, 29), delivered_days_ago=4), TODAY)
    assert not is_late(order("1", "paid"), TODAY)  # no expected day yet


def test_tracking_link_is_the_carriers_page_for_the_parcel():
    facts = shop.facts()
    link = tracking_link(order("100841", "shipped"), facts)
    assert link.startswith("https://www.dhl.de/") and link.endswith("piececode=0034043412")
    unknown_carrier = dataclasses.replace(order("100841", "shipped"), carrier="Pigeon post")
    assert tracking_link(unknown_carrier, facts) == f"{facts['orders_url']}/100841"


def test_the_greeting_does_not_promise_a_day_that_has_passed():
    from bot.orders.present import greeting_state, greeting_values
    from bot.orders.wording import default_wording
    late = dataclasses.replace(order("100841", "shipped", expected=dt.date(2026, 11, 29)),
                               shipped_at=dt.datetime(2026, 11, 26, 9))
    assert greeting_state(late, TODAY) == "shipped_late"  # utter_greet_customer_shipped_late: "was due by"
    assert greeting_values(late, default_wording())["expected"] == "Sunday, 29 November"
    assert greeting_state(late, dt.date(2026, 11, 28)) == "shipped"  # "should arrive by"
