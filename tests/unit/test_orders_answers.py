"""The order answers as the visitor reads them: the action picks a response and its values, Rasa's NLG fills it in
(the same templated generator the server uses), on the real domain."""
import datetime as dt
from decimal import Decimal

import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.orders import ActionCancelOrder, ActionCheckCancellationFee, ActionGetRefund, ActionTrackOrder, ActionTrackRefund
from bot.orders import Address, Item, Order, Refund
from bot.settings import ROOT

PLACED = dt.datetime(2026, 1, 5, 9)  # a Monday, long past returning


@pytest.fixture(scope="module")
def nlg():
    return TemplatedNaturalLanguageGenerator(Domain.load(str(ROOT / "domain")).responses)


def order(status, **kw):
    return Order(**{**dict(number="100482", customer_id="C1", email="a@example.com", status=status, placed_at=PLACED,
                           total=Decimal("59.90"), currency="EUR", items=[Item("NW-1", "Grey hoodie", 1, Decimal("59.90"))],
                           address=Address("Anna", "Hauptstraße 1", "10115", "Berlin", "DE")), **kw})


def answers(nlg, action, order):
    dispatcher = CollectingDispatcher()
    tracker = Tracker("v", {}, {"text": "x", "intent": {"name": "x"}, "entities": []}, [], False, None, {}, "action_listen")
    action.handle(dispatcher, tracker, order)
    shown = []
    for message in dispatcher.messages:
        values = {k: v for k, v in message.items() if k != "response"}
        shown.append(nlg.generate_from_slots(message["response"], {}, "socketio", **values)["text"])
    return shown


@pytest.mark.parametrize("action, status, extra, text", [
    (ActionCancelOrder(), "paid", {}, "Shall I cancel order #100482 (Grey hoodie, 59.90 EUR)? Cancelling it is free."),
    (ActionCancelOrder(), "packed", {},
     "Shall I cancel order #100482 (Grey hoodie, 59.90 EUR)? It's already packed, so cancelling costs 4.90 EUR."),
    (ActionCancelOrder(), "delivered", {}, "Order #100482 has been delivered already, so it can't be cancelled any more. "
                                           "Once it arrives you can return it for free within 30 days."),
    (ActionCheckCancellationFee(), "returned", {},
     "For order #100482: It has been returned, so it can't be cancelled; returns are free."),
    (ActionGetRefund(), "delivered", {"delivered_at": PLACED},
     "Order #100482 can't be returned for a refund: it was delivered more than 30 days ago."),
    (ActionTrackRefund(), "shipped", {}, "There's no return or refund for order #100482 yet. "
                                         "It is still on its way; once it's delivered you can return it."),
    (ActionTrackRefund(), "returned", {"refund": Refund(Decimal("59.9"), "refunded", PLACED, None, dt.datetime(2026, 1, 9))},
     "The refund for order #100482 is refunded: 59.90 EUR, paid back on Friday, 9 January."),
    (ActionTrackOrder(), "returned", {}, "Order #100482 (Grey hoodie) was returned. The refund is being prepared."),
])
def test_each_variant_reads_as_one_sentence(nlg, action, status, extra, text):
    assert answers(nlg, action, order(status, **extra)) == [text]
