"""The agent's view of who the visitor is and which order they mean, against a seeded shop: an order is shown
only once this visitor proved it is theirs, whatever the slots name."""
import datetime as dt

import pytest
import sqlalchemy as sa

from bot.console.blueprints.conversations import customer_context
from bot.orders import OrdersUnavailable
from bot.orders.seed import seed
from bot.orders.sql import OrderRow, SqlOrders


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    orders = SqlOrders(f"sqlite:///{tmp_path_factory.mktemp('shop') / 'shop.db'}")
    seed(orders, today=dt.date(2026, 11, 26))
    yield orders
    orders.close()


def two_customers_orders(shop):
    with shop.session() as s:
        rows = s.execute(sa.select(OrderRow.number, OrderRow.customer_id).order_by(OrderRow.number)).all()
    mine = shop.order(rows[0].number)
    theirs = shop.order(next(n for n, c in rows if c != mine.customer_id))
    return mine, theirs


def test_a_guest_sees_the_order_only_once_proven_with_its_email(shop):
    order, _ = two_customers_orders(shop)
    named = customer_context(shop, "", False, {"order_number": order.number})
    assert named["order"] is None and named["customer"]["email"] is None  # a number alone proves nothing
    proven = customer_context(shop, "", False, {"order_number": order.number, "verified_orders": [order.number]})
    assert proven["order"]["number"] == order.number and proven["customer"]["email"] == order.email
    assert proven["orders"] == []


def test_a_signed_in_customer_gets_their_record_and_never_someone_elses_order(shop):
    mine, theirs = two_customers_orders(shop)
    view = customer_context(shop, mine.customer_id, True, {"order_number": theirs.number})
    assert view["order"] is None
    record = shop.customer(mine.customer_id)
    assert (view["customer"]["name"], view["customer"]["email"]) == (record.name, record.email)
    assert customer_context(shop, mine.customer_id, True, {"order_number": mine.number})["order"]["number"] == mine.number


class NoCustomerRecords(SqlOrders):
    """A shop API whose customer endpoint fails: the orders must still show."""

    def customer(self, customer_id):
        raise OrdersUnavailable("order API GET /customers/x: HTTP 405")


def test_a_failing_customer_record_leaves_the_orders_shown(shop):
    mine, _ = two_customers_orders(shop)
    api = NoCustomerRecords(str(shop.engine.url))
    try:
        view = customer_context(api, mine.customer_id, True, {})
    finally:
        api.close()
    assert view["orders"] and view["orders_error"] is None and view["customer"]["name"] is None
