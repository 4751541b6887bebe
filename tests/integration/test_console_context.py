"""What the agent sees about a conversation, on the real stack: who the visitor is (the shop's customer record),
the order in question once proven, its delivery day and money as the shop writes them, a late order flagged,
the team picked by the conversation's request, and the signals in words, each once."""
import datetime as dt
from decimal import Decimal

import pytest

from bot.orders.present import day
from tests.integration.conftest import Chat, make_agent
from tests.integration.test_handoff_flow import signed_chat
from tests.integration.test_orders_conversation import arrange

IN_LINE = "in line"  # both the plain and the sorry queue message say the visitor's place


@pytest.fixture
def agent(stack, nobody_on_shift):
    return make_agent(stack, "olga", max_chats=5)


def late_order(shop, **changes):
    """A shipped order that should have arrived four days ago, with a total the old console showed as "23.9 EUR"."""
    now = dt.datetime.now().replace(microsecond=0)
    return arrange(shop, "shipped", total=Decimal("23.90"), placed_at=now - dt.timedelta(days=6),
                   shipped_at=now - dt.timedelta(days=5), expected_delivery=(now - dt.timedelta(days=4)).date(), **changes)


def release(agent, cid):
    """Take the chat and hand it back, so no test after this one finds someone already waiting in line."""
    agent.call("POST", f"/api/conversations/{cid}/claim")
    agent.call("POST", f"/api/conversations/{cid}/handback", {})


def waiting_row(agent, cid):
    return next(h for h in agent.call("GET", "/api/queue")["waiting"] if h["conversation_id"] == cid)


def test_an_angry_guest_with_a_late_order_reaches_orders_and_the_agent_sees_the_order(stack, agent, shop):
    order = late_order(shop)
    chat = Chat(stack)
    chat.say("where is my order?")
    assert order.tracking_number in chat.text(f"{order.number} {order.email}")  # verified: the bot answered
    assert IN_LINE in chat.text("this is ridiculous!!! I want to talk to a human")

    waiting = waiting_row(agent, chat.sender)
    assert (waiting["intent"], waiting["team"]) == ("track_order", "orders")  # not "inform", team general
    labels = [s["label"] for s in waiting["signals"]]
    assert "angry words" in labels and "asks for a person" in labels and len(labels) == len(set(labels))

    view = agent.call("GET", f"/api/conversations/{chat.sender}")
    assert view["customer"] == {"id": None, "verified": False, "name": None, "email": order.email}
    current = view["order"]
    assert (current["number"], current["total"], current["late"]) == (order.number, "23.90 EUR", True)
    expected = order.expected_delivery
    assert (current["expected"], current["expected_delivery"]) == (day(expected), expected.isoformat())
    assert view["orders"] == []  # a guest's other orders stay private
    release(agent, chat.sender)


def test_a_guest_who_named_an_order_but_has_not_proven_it_sees_no_order_in_the_console(stack, agent, shop):
    order = late_order(shop)
    chat = Chat(stack)
    chat.say(f"where is order {order.number}?")  # the bot asks for the email: the number alone proves nothing
    assert IN_LINE in chat.text("I want to talk to a human")
    view = agent.call("GET", f"/api/conversations/{chat.sender}")
    assert view["order"] is None and view["customer"]["email"] is None
    release(agent, chat.sender)


def test_a_signed_in_customer_shows_name_email_and_late_orders_flagged(stack, agent, shop):
    order = late_order(shop)
    record = shop.customer(order.customer_id)
    chat = signed_chat(stack, order.customer_id)
    chat.say(f"where is my order {order.number}")
    assert IN_LINE in chat.text("I want to talk to a human")

    view = agent.call("GET", f"/api/conversations/{chat.sender}")
    assert view["customer"] == {"id": order.customer_id, "verified": True, "name": record.name, "email": record.email}
    assert view["order"]["number"] == order.number and view["order"]["late"]
    listed = {o["number"]: o for o in view["orders"]}
    assert listed[order.number]["late"] and listed[order.number]["total"] == "23.90 EUR"
    assert all(not o["late"] for o in view["orders"] if o["status"] in ("delivered", "cancelled", "returned"))
    assert all(o["total"].endswith(" EUR") and len(o["total"].split()[0].split(".")[1]) == 2 for o in view["orders"])
    release(agent, chat.sender)
