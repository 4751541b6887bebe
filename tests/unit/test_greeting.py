"""The greeting, on real domain and tracker fixtures and a seeded SQLite shop: one greeting, buttons at the end."""
import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionGreet, ActionSessionStart
from bot.identity import sign
from bot.orders.seed import seed
from bot.orders.sql import OrderRow, SqlOrders
from bot.settings import ROOT, get_settings


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain")).as_dict()


@pytest.fixture
def shop(monkeypatch, tmp_path):
    orders = SqlOrders(f"sqlite:///{tmp_path}/shop.db")
    seed(orders)
    import actions.session
    monkeypatch.setattr(actions.session, "backend", lambda: orders)
    yield orders
    orders.close()


def in_flight(shop):
    """A customer whose latest order shipped yesterday."""
    order = shop.order("100500")
    now = dt.datetime.now().replace(microsecond=0)
    with shop.session.begin() as s:
        s.execute(sa.update(OrderRow).where(OrderRow.customer_id == order.customer_id)
                  .values(placed_at=now - dt.timedelta(days=30)))
        s.execute(sa.update(OrderRow).where(OrderRow.number == order.number).values(
            status="shipped", placed_at=now - dt.timedelta(days=2), shipped_at=now - dt.timedelta(days=1),
            carrier="DHL", tracking_number="003404341", expected_delivery=(now + dt.timedelta(days=1)).date()))
    return shop.order(order.number)


def tracker(customer=None, name="Page name", earlier=()):
    meta = {"customer": {"id": customer, "signature": sign(customer, get_settings().identity_secret),
                         "name": name}} if customer else {}
    message = {"text": "/greet", "intent": {"name": "greet", "confidence": 1.0}, "entities": [], "metadata": meta}
    events = [{"event": "session_started"}, *earlier, {"event": "user", "text": "/greet", "parse_data": message}]
    return Tracker("visitor", {"session_started_metadata": meta}, message, events, False, None, {}, "action_listen")


def greet(t, domain):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionGreet().run(dispatcher, t, domain))
    return dispatcher.messages, events


def test_a_signed_in_customer_gets_one_greeting_with_the_order_and_its_buttons(shop, domain):
    order = in_flight(shop)
    messages, events = greet(tracker(order.customer_id), domain)
    assert len(messages) == 1  # not a customer greeting and then the generic one
    greeting = messages[0]
    assert greeting["response"] == "utter_greet_customer_shipped_yesterday" and greeting["number"] == order.number
    assert greeting["name"] == order.address.name.split()[0]  # the name on the order, not what the page sent
    response = domain["responses"][greeting["response"]][0]
    assert [b["title"] for b in response["buttons"]] == ["Yes, about this order", "Something else"]
    assert "{number}" in response["buttons"][0]["payload"]
    text = response["text"]
    assert "{number}" in text and "Nora" in text  # the order and who the assistant is, in one message
    assert {"event": "slot", "name": "order_number", "value": order.number, "timestamp": None} in events


def test_a_second_hello_and_everyone_else_get_the_shops_greeting(shop, domain):
    order = in_flight(shop)
    again = tracker(order.customer_id, earlier=[{"event": "action", "name": "action_greet"}])
    assert [m["response"] for m in greet(again, domain)[0]] == ["utter_greet"]
    assert [m["response"] for m in greet(tracker(), domain)[0]] == ["utter_greet"]


def test_the_session_start_itself_says_nothing(shop, domain):
    order = in_flight(shop)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionSessionStart().run(dispatcher, tracker(order.customer_id), domain))
    assert dispatcher.messages == []
    assert {"event": "slot", "name": "customer_id", "value": order.customer_id, "timestamp": None} in events


def test_a_new_session_does_not_carry_the_last_customer_over(shop, domain):
    """Issue 18, point 2: the page that starts the new session signed nobody in (the shop logged them out)."""
    order = in_flight(shop)
    anonymous = tracker()
    anonymous.slots.update(customer_id=order.customer_id, order_number=order.number)
    events = asyncio.run(ActionSessionStart().run(CollectingDispatcher(), anonymous, domain))
    assert [e["value"] for e in events if e.get("name") == "customer_id"] in ([], [None])
    assert {"event": "slot", "name": "order_number", "value": order.number, "timestamp": None} in events  # the rest stays
