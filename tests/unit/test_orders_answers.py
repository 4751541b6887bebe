"""The order answers as the visitor reads them: the action picks a response and its values, Rasa's NLG fills it in
(the same templated generator the server uses), on the real domain."""
import datetime as dt
from decimal import Decimal

import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import session
from actions.changes import ADDRESS_INVALID
from actions.orders import (
    ActionCancelOrder,
    ActionCheckCancellationFee,
    ActionGetRefund,
    ActionOrderHistory,
    ActionTrackOrder,
    ActionTrackRefund,
)
from bot.orders import Address, AddressInvalid, Item, Order, Refund
from bot.orders.base import parse_address
from bot.orders.present import day, items
from bot.orders.wording import Wording, default_wording
from bot.settings import ROOT

PLACED = dt.datetime(2026, 1, 5, 9)  # a Monday, long past returning


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain")).as_dict()  # as Rasa sends it with each action call


@pytest.fixture(scope="module")
def nlg():
    return TemplatedNaturalLanguageGenerator(Domain.load(str(ROOT / "domain")).responses)


def order(status, **kw):
    return Order(**{**dict(number="100482", customer_id="C1", email="a@example.com", status=status, placed_at=PLACED,
                           total=Decimal("59.90"), currency="EUR", items=[Item("NW-1", "Grey hoodie", 1, Decimal("59.90"))],
                           address=Address("Anna", "Hauptstraße 1", "10115", "Berlin", "DE")), **kw})


def shown(nlg, dispatcher):
    texts = []
    for message in dispatcher.messages:
        values = {k: v for k, v in message.items() if k != "response"}
        texts.append(nlg.generate_from_slots(message["response"], {}, "socketio", **values)["text"])
    return texts


def answers(nlg, action, order, domain=None):
    dispatcher = CollectingDispatcher()
    tracker = Tracker("v", {}, {"text": "x", "intent": {"name": "x"}, "entities": []}, [], False, None, {}, "action_listen")
    action.handle(dispatcher, tracker, order, Wording.from_domain(domain))
    return shown(nlg, dispatcher)


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


# the small words as Python wrote them before they moved into domain/wording.yml: the visitor reads the same bytes
FIVE_ITEMS = [Item("M", "Mug", 2, Decimal("5")), Item("L", "Lamp", 1, Decimal("30")), Item("T", "Tea", 1, Decimal("4")),
              Item("S", "Spoon", 1, Decimal("2")), Item("P", "Plate", 3, Decimal("9"))]


@pytest.mark.parametrize("action, status, extra, text", [
    (ActionTrackOrder(), "shipped", {"items": FIVE_ITEMS},
     "Order #100482 (2 x Mug, Lamp, Tea and 2 more) shipped on soon with our carrier, tracking number not available yet. "
     "It should arrive by soon."),
    (ActionTrackOrder(), "shipped", {"carrier": "DHL", "tracking_number": "0034", "shipped_at": dt.datetime(2026, 12, 3, 9),
                                     "expected_delivery": dt.date(2099, 12, 31)},
     "Order #100482 (Grey hoodie) shipped on Thursday, 3 December with DHL, tracking number 0034. "
     "It should arrive by Thursday, 31 December."),
    (ActionOrderHistory(), "paid", {"items": FIVE_ITEMS[:3]},
     "Your most recent orders:\n- #100482, Monday, 5 January: 2 x Mug, Lamp, Tea, 59.90 EUR, paid"),
])
def test_the_small_words_read_as_before(nlg, domain, action, status, extra, text):
    assert answers(nlg, action, order(status, **extra), domain) == [text]


def test_the_order_buttons_read_as_before(domain):
    dispatcher = CollectingDispatcher()
    long_name = [Item("H", "Grey hooded sweatshirt with a zip", 1, Decimal("59.90"))]  # cut to 30 characters
    two = [order("paid", items=FIVE_ITEMS), order("packed", number="100483", items=long_name)]
    ActionCancelOrder().nothing_fits(dispatcher, two, Wording.from_domain(domain))
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["#100482 2 x Mug, Lamp, Tea and 2 more (paid)",
                                                                      "#100483 Grey hooded sweatshirt with a  (packed)"]


def test_a_greeting_without_a_name_says_there(nlg, domain, monkeypatch):
    nameless = order("paid", address=Address("", "Hauptstraße 1", "10115", "Berlin", "DE"))
    monkeypatch.setattr(session, "order_in_flight", lambda customer, today: nameless)
    dispatcher = CollectingDispatcher()
    tracker = Tracker("v", {}, {"text": "hi", "intent": {"name": "greet"}, "entities": []}, [], False, None, {}, "action_listen")
    session.ActionGreet()._greet_customer(dispatcher, tracker, "C1", Wording.from_domain(domain))
    assert shown(nlg, dispatcher) == ["Hi there, I'm Nora, the Northwind Goods assistant. Your order #100482 (Grey hoodie) "
                                      "is being prepared. Is this about that order, or can I help with something else?"]


def test_the_wording_comes_from_the_domain_the_action_gets(domain):
    responses = {**domain["responses"], "utter_wording_soon": [{"text": "bald"}]}
    assert Wording.from_domain({**domain, "responses": responses}).day(None) == "bald"
    assert Wording.from_domain(domain) == default_wording()  # the domain files' own, for code without a domain
    assert Wording.from_domain({}) == default_wording()


def test_dates_read_as_strftime_wrote_them():
    for offset in range(366):  # every day of a year, every weekday and month name
        value = dt.date(2026, 1, 1) + dt.timedelta(days=offset)
        assert day(value) == f"{value.strftime('%A')}, {value.day} {value.strftime('%B')}"
    assert day(dt.datetime(2026, 12, 3, 23, 59)) == "Thursday, 3 December" and day(None) == "soon"
    assert items(order("paid", items=FIVE_ITEMS[:4])) == "2 x Mug, Lamp, Tea and 1 more"


@pytest.mark.parametrize("text, name, code", [
    ("", "Anna", "empty"), ("Lindenallee 5, 10115 Berlin, DE", "", "missing"),
    ("Lindenallee 5" + "a" * 120 + ", 10115 Berlin", "Anna", "too_long"),
    ("Lindenallee, 10115 Berlin", "Anna", "no_house_number"), ("Main St 5, 10115 Berlin, US", "Anna", "country"),
    ("Lindenallee 5, 1011, Berlin", "Anna", "postcode"), ("Lindenallee 5, Berlin", "Anna", "no_postcode_city"),
    ("just some words", "Anna", "parts"),
])
def test_a_bad_address_reads_as_before(nlg, text, name, code):
    with pytest.raises(AddressInvalid) as raised:
        parse_address(text, name, "DE")
    assert raised.value.code == code
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response=ADDRESS_INVALID[code], **raised.value.values)
    # the sentence as actions/changes.py built it from the error's message before
    assert shown(nlg, dispatcher) == [f"That address won't work: {raised.value}. Please write it as: street and number, "
                                      "postcode, city, country code."]


OLD_NOTICES = {  # as bot/channels/widget.py wrote them before they moved into domain/notices.yml
    "too_long": "That message is too long for me. Could you shorten it (at most 2000 characters)?",
    "rate_limited": "You're sending messages faster than I can read them. Please wait a few seconds.",
    "malformed": "I couldn't read that message. Please try again.",
    "no_session": "Your chat session has not started yet. Please reload the page.",
    "error": "Sorry, something went wrong on our side. Please try again in a moment.",
    "no_answer": "Sorry, I couldn't answer that just now. Please try again in a moment, or ask for a person.",
    "identity_changed": "You signed in or out since this chat started. Please reload the page to go on chatting.",
    "too_many_sessions": "The chat was opened too often from your network just now. Please wait a minute, then reload the page.",
}


def test_the_widgets_notices_read_as_before():
    from bot.channels.widget import NOTICES, TOO_MANY_CONNECTIONS
    from bot.responses import response_text

    old = {code: name for code, name in NOTICES.items() if code in OLD_NOTICES}  # later ones (Redis down) are new
    assert {code: response_text(name).format(limit=2000) for code, name in old.items()} == OLD_NOTICES
    assert response_text(TOO_MANY_CONNECTIONS) == "Too many chat windows are open from your network."
