"""Both order backends against real stores: SQL (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)
and HTTP (a real local server, including slow, failing and malformed answers)."""
import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot.orders import Address, AddressInvalid, OrdersUnavailable
from bot.orders.http import HttpOrders
from bot.orders.seed import CUSTOMERS, ORDERS, seed
from bot.orders.sql import OrderRow, SqlOrders
from bot.settings import targets_for_tests
from tests.integration.orders_server import OrdersServer

FEE = Decimal("4.90")


def _private_database(tmp_path_factory):
    """A fresh shop per test run: its own SQLite file, or its own schema in the shared PostgreSQL."""
    url, _ = targets_for_tests()
    if not url or not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path_factory.mktemp('shop') / 'shop.db'}", None
    schema = f"shop_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", (admin, schema)


@pytest.fixture(scope="module")
def sql_orders(tmp_path_factory):
    url, cleanup = _private_database(tmp_path_factory)
    orders = SqlOrders(url)
    seed(orders, today=dt.date(2026, 11, 26))
    yield orders
    orders.close()
    if cleanup:
        admin, schema = cleanup
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def first(orders, **where):
    with orders.session() as s:
        row = s.execute(sa.select(OrderRow).filter_by(**where).order_by(OrderRow.number)).scalars().first()
        return orders.order(row.number)


def test_the_seed_is_a_realistic_shop(sql_orders):
    with sql_orders.session() as s:
        statuses = dict(s.execute(sa.select(OrderRow.status, sa.func.count()).group_by(OrderRow.status)).all())
        customers = s.execute(sa.select(sa.func.count(sa.distinct(OrderRow.customer_id)))).scalar()
    assert sum(statuses.values()) == ORDERS and customers <= CUSTOMERS and customers > 150
    assert set(statuses) == {"pending", "paid", "packed", "shipped", "delivered", "cancelled", "returned"}
    shipped = first(sql_orders, status="shipped")
    assert shipped.carrier and shipped.tracking_number and shipped.expected_delivery and shipped.invoice_number
    assert first(sql_orders, status="returned").refund.status in ("approved", "refunded")
    assert seed(sql_orders) == ORDERS  # seeding again changes nothing


def test_the_seed_is_deterministic(tmp_path):
    a, b = SqlOrders(f"sqlite:///{tmp_path}/a.db"), SqlOrders(f"sqlite:///{tmp_path}/b.db")
    day = dt.date(2026, 11, 26)
    seed(a, today=day), seed(b, today=day)
    assert a.order("100500") == b.order("100500") and a.order("100999") == b.order("100999")


def test_an_order_is_shown_only_to_its_owner(sql_orders):
    order = first(sql_orders, status="delivered")
    assert sql_orders.order_for(order.number, customer_id=order.customer_id) == order
    assert sql_orders.order_for(order.number, email=order.email.upper() + " ") == order
    assert sql_orders.order_for(order.number, customer_id="C99999") is None
    assert sql_orders.order_for(order.number, email="someone@else.example") is None
    assert sql_orders.order_for("999999", email=order.email) is None
    assert sql_orders.order_for("'; DROP TABLE shop_orders; --", email=order.email) is None


def test_recent_orders_newest_first(sql_orders):
    order = first(sql_orders, status="shipped")
    recent = sql_orders.recent_orders(order.customer_id, 3)
    assert 1 <= len(recent) <= 3 and all(o.customer_id == order.customer_id for o in recent)
    assert [o.placed_at for o in recent] == sorted((o.placed_at for o in recent), reverse=True)


def test_cancel_before_shipping_once_and_only_once(sql_orders):
    order = first(sql_orders, status="packed")
    done = sql_orders.cancel(order.number, FEE)
    assert (done.outcome, done.order.status, done.fee) == ("done", "cancelled", FEE)  # packed: the fee applies
    again = sql_orders.cancel(order.number, FEE)
    assert again.outcome == "already"


def test_a_shipped_order_cannot_be_cancelled(sql_orders):
    order = first(sql_orders, status="shipped")
    result = sql_orders.cancel(order.number, FEE)
    assert (result.outcome, result.reason, result.order.status) == ("refused", "shipped", "shipped")


def test_racing_cancels_cancel_exactly_once(sql_orders):
    order = first(sql_orders, status="paid")
    outcomes, barrier = [], threading.Barrier(8)

    def attempt():
        barrier.wait()
        outcomes.append(sql_orders.cancel(order.number, FEE).outcome)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    [t.start() for t in threads], [t.join() for t in threads]
    assert sorted(outcomes) == ["already"] * 7 + ["done"]
    assert sql_orders.order(order.number).status == "cancelled"


def test_address_change_is_validated_and_only_before_shipping(sql_orders):
    order = first(sql_orders, status="pending")
    new = Address("Anna Müller", "Lindenallee 5", "10115", "Berlin", "de")
    result = sql_orders.change_address(order.number, new)
    assert result.outcome == "done" and result.order.address.one_line() == "Anna Müller, Lindenallee 5, 10115 Berlin, DE"
    assert sql_orders.change_address(order.number, new).outcome == "already"
    with pytest.raises(AddressInvalid, match="house number"):
        sql_orders.change_address(order.number, Address("A", "Lindenallee", "10115", "Berlin", "DE"))
    with pytest.raises(AddressInvalid, match="postcode"):
        sql_orders.change_address(order.number, Address("A", "Lindenallee 5", "1011", "Berlin", "DE"))
    shipped = first(sql_orders, status="shipped")
    assert sql_orders.change_address(shipped.number, new).outcome == "refused"


def test_refund_only_for_delivered_orders_and_only_once(sql_orders):
    with sql_orders.session() as s:
        number = s.execute(sa.select(OrderRow.number).where(
            OrderRow.status == "delivered", OrderRow.delivered_at > dt.datetime(2026, 11, 10)).limit(1)).scalar()
    assert number, "the seed has recently delivered orders"
    result = sql_orders.request_refund(number, 30)
    assert result.outcome == "done" and result.order.refund.status == "requested" and result.order.refund.amount > 0
    assert sql_orders.request_refund(number, 30).outcome == "already"
    assert sql_orders.request_refund(first(sql_orders, status="shipped").number, 30).outcome == "refused"


def test_a_database_that_is_down_is_reported_as_unavailable(tmp_path):
    down = SqlOrders("postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    with pytest.raises(OrdersUnavailable):
        down.order("100001")


# --- HTTP backend against a real local server speaking the contract ---

@pytest.fixture
def api(sql_orders):
    with OrdersServer(sql_orders) as server:
        yield server


def test_http_backend_reads_and_changes_through_the_contract(api, sql_orders):
    http = HttpOrders(api.url, token="test-token", read_timeout=2)
    order = first(sql_orders, status="delivered")
    assert http.order(order.number) == order
    assert http.order("999999") is None
    assert http.recent_orders(order.customer_id, 2) == sql_orders.recent_orders(order.customer_id, 2)
    pending = first(sql_orders, status="pending")
    assert http.cancel(pending.number, FEE).outcome == "done"
    assert http.cancel(pending.number, FEE).outcome == "already"


def test_both_backends_find_the_customer_record_for_the_agent(api, sql_orders):
    order = first(sql_orders, status="shipped")
    http = HttpOrders(api.url, token="test-token", read_timeout=2)
    for backend in (sql_orders, http):
        customer = backend.customer(order.customer_id)
        assert (customer.id, customer.email) == (order.customer_id, order.email) and " " in customer.name
        assert backend.customer("C99999") is None


def test_http_backend_times_out_on_a_slow_api(api):
    api.mode, api.delay = "slow", 1.5
    http = HttpOrders(api.url, token="test-token", read_timeout=0.3, retries=0)
    with pytest.raises(OrdersUnavailable, match="Timeout"):
        http.order("100001")


def test_http_backend_reports_errors_and_malformed_answers(api):
    http = HttpOrders(api.url, token="test-token", read_timeout=2, retries=0)
    api.mode = "error"
    with pytest.raises(OrdersUnavailable, match="HTTP 500"):
        http.order("100001")
    api.mode = "garbage"
    with pytest.raises(OrdersUnavailable, match="malformed"):
        http.order("100001")
    with pytest.raises(OrdersUnavailable, match="refused|Connection"):
        HttpOrders("http://127.0.0.1:9", retries=0).order("100001")


def test_http_backend_retries_reads_but_never_changes(api, sql_orders):
    api.mode = "flaky"  # every other request fails with 503
    http = HttpOrders(api.url, token="test-token", read_timeout=2, retries=2)
    assert http.order("100001") is not None and api.requests == 2  # the GET was retried once
    api.requests = 0
    with pytest.raises(OrdersUnavailable, match="503"):
        http.cancel(first(sql_orders, status="paid").number, FEE)
    assert api.requests == 1  # a POST is never repeated


def test_wrong_token_is_an_error_not_an_answer(api):
    with pytest.raises(OrdersUnavailable, match="401"):
        HttpOrders(api.url, token="wrong", retries=0).order("100001")
