"""Order actions on real domain and tracker fixtures, with a real (unreachable or seeded) backend."""
import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import MAX_FAILED_LOOKUPS
from actions.orders import ActionCancelOrder, ActionTrackOrder
from bot.orders import factory
from bot.orders.seed import seed
from bot.orders.sql import SqlOrders
from bot.settings import ROOT


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain")).as_dict()


def tracker(text, entities=(), slots=None, intent="track_order"):
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities), "metadata": {}}
    return Tracker("visitor", slots or {}, message, [{"event": "user", "text": text, "parse_data": message}],
                   False, None, {}, "action_listen")


def run(action, t, domain):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, domain))
    return dispatcher.messages, events


@pytest.fixture
def use_backend(monkeypatch):
    def install(orders):
        monkeypatch.setattr(factory, "backend", lambda: orders)
        import actions.base
        import actions.orders
        monkeypatch.setattr(actions.base, "backend", lambda: orders)
        return orders
    return install


def test_order_system_down_is_said_and_the_conversation_goes_on(domain, use_backend):
    use_backend(SqlOrders("postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}))
    number = {"entity": "order_number", "value": "100482"}
    email = {"entity": "email", "value": "a@example.com"}
    messages, events = run(ActionTrackOrder(), tracker("100482 a@example.com", [number, email]), domain)
    assert [m["response"] for m in messages] == ["utter_orders_unavailable"]
    assert {"event": "slot", "name": "pending_request", "value": None, "timestamp": None} in events
    assert "utter_orders_unavailable" in domain["responses"]


def test_blocked_conversation_gets_no_lookup(domain, use_backend, tmp_path):
    shop = use_backend(SqlOrders(f"sqlite:///{tmp_path}/shop.db"))
    seed(shop)
    order = shop.order("100500")
    t = tracker("x", [{"entity": "order_number", "value": order.number}, {"entity": "email", "value": order.email}],
                slots={"failed_lookups": float(MAX_FAILED_LOOKUPS)})
    messages, _ = run(ActionTrackOrder(), t, domain)
    assert [m["response"] for m in messages] == ["utter_lookups_blocked"]


def test_cancel_asks_before_acting(domain, use_backend, tmp_path):
    shop = use_backend(SqlOrders(f"sqlite:///{tmp_path}/shop.db"))
    seed(shop)
    with shop.session() as s:
        from bot.orders.sql import OrderRow
        number = s.query(OrderRow.number).filter(OrderRow.status == "paid").first()[0]
    order = shop.order(number)
    t = tracker("cancel", [{"entity": "order_number", "value": number}, {"entity": "email", "value": order.email}],
                intent="cancel_order")
    messages, events = run(ActionCancelOrder(), t, domain)
    assert messages[0]["response"] == "utter_confirm_cancel" and "free" in messages[0]["fee_line"]
    assert {"event": "slot", "name": "confirming", "value": True, "timestamp": None} in events
    assert shop.order(number).status == "paid"
