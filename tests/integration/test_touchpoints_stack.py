"""Touchpoints from the running stack: the Rasa event broker and the console write them; admins see the
analytics, export them and can delete a customer's data."""
import time

import pytest
import requests
import sqlalchemy as sa

from bot.touchpoints.models import touchpoints
from tests.integration.conftest import Chat, Console, make_agent
from tests.integration.test_handoff_flow import signed_chat


def rows_of(stack, cid):
    engine = sa.create_engine(stack.settings.touchpoints_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                touchpoints.select().where(touchpoints.c.conversation_id == cid).order_by(touchpoints.c.id))]
    finally:
        engine.dispose()


def wait_for_rows(stack, cid, wanted, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        rows = rows_of(stack, cid)
        if set(wanted) <= {r["type"] for r in rows} or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


@pytest.fixture
def tina(stack, nobody_on_shift):
    return make_agent(stack, "tina")


def test_a_conversation_with_a_handoff_is_logged_touchpoint_by_touchpoint(stack, tina):
    chat = signed_chat(stack, "C00002")
    chat.say("where is my last order")
    chat.say("blorp fizzle wum")
    chat.say("I want to talk to a human")
    tina.call("POST", f"/api/conversations/{chat.sender}/claim")
    tina.call("POST", f"/api/conversations/{chat.sender}/messages", {"text": "Hi, Tina here"})
    tina.call("POST", f"/api/conversations/{chat.sender}/handback", {"summary": "done"})
    chat.say("4")
    chat.say("9")
    wanted = {"message", "order_lookup", "fallback", "handoff_requested", "handoff_queued", "handoff_claimed",
              "handoff_handed_back", "rating", "intent"}
    rows = wait_for_rows(stack, chat.sender, wanted)
    assert wanted <= {r["type"] for r in rows}, [r["type"] for r in rows]
    visitor = [r for r in rows if r["actor"] == "visitor" and r["type"] == "message"]
    assert visitor[0]["customer_id"] == "C00002" and visitor[0]["channel"] == "rest"
    assert visitor[0]["intent"] and visitor[0]["confidence"] > 0 and visitor[0]["frustration"] is not None
    assert visitor[0]["stage"] == "purchase"
    # the first answer, after the visitor's first message, has the latency of that message's answer
    bot = [r for r in rows if r["actor"] == "bot" and r["type"] == "message" and r["id"] > visitor[0]["id"]]
    assert bot[0]["latency_ms"] is not None and bot[0]["latency_ms"] >= 0
    agent = next(r for r in rows if r["actor"] == "agent" and r["type"] == "message")
    assert (agent["agent_id"], agent["text"]) == ("tina", "Hi, Tina here")
    claimed = next(r for r in rows if r["type"] == "handoff_claimed")
    assert claimed["meta"]["reason"] == "requested" and claimed["meta"]["wait_seconds"] >= 0
    rating = next(r for r in rows if r["type"] == "rating")
    assert (rating["meta"], rating["stage"], rating["agent_id"]) == ({"csat": 4, "nps": 9}, "advocacy", "tina")


def test_admins_get_the_dashboard_the_figures_an_export_and_can_forget_a_customer(stack, tina):
    chat = signed_chat(stack, "C00003")
    chat.say("hello")
    chat.say("where is my order")
    assert wait_for_rows(stack, chat.sender, {"message"})
    admin = Console(stack)
    page = admin.http.get(f"{admin.base}/analytics", timeout=30)
    assert page.status_code == 200 and '<script src="/static/analytics.js">' in page.text  # drawn from the JSON
    figures = admin.call("GET", "/api/analytics")
    assert figures["totals"]["conversations"] >= 1 and set(figures["query_ms"]) >= {"daily", "funnel"}
    admin.call("GET", "/api/analytics?from=2026-13-01", expect=400)
    export = admin.http.get(f"{admin.base}/api/analytics/touchpoints.csv", timeout=30)
    assert export.status_code == 200 and export.text.splitlines()[0].startswith("id,conversation_id,customer_id")
    assert chat.sender in export.text
    tina.call("GET", "/api/analytics", expect=403)
    assert requests.get(f"{admin.base}/api/analytics", timeout=10).status_code == 401

    removed = admin.call("DELETE", "/api/customers/C00003/data")["removed"]
    assert removed["touchpoints"] >= 2 and removed["transcript_events"] >= 2 and removed["conversations"] >= 1
    assert rows_of(stack, chat.sender) == []
    assert [e for e in chat.tracker()["events"] if e.get("event") == "user"] == []  # the transcript is gone too
    other = Chat(stack)
    other.say("hi")
    assert wait_for_rows(stack, other.sender, {"message"})  # nobody else's data went


def test_a_signed_in_visitor_who_asks_to_delete_their_account_gets_their_chats_erased(stack):
    customer = f"C-erase-{int(time.time() * 1000) % 10**8}"
    earlier = signed_chat(stack, customer)
    earlier.say("what are your opening hours")
    chat = signed_chat(stack, customer)
    offer = chat.text("please delete my account and all my data")
    assert "Settings > Delete account" in offer and "erase what we keep of your chats" in offer
    assert "will be erased within a minute" in chat.text("yes")
    assert wait_for_rows(stack, earlier.sender, {"message"}) and wait_for_rows(stack, chat.sender, {"message"})

    anonymous = Chat(stack)  # anyone else gets the how-to only: nobody erases a customer's data unverified
    told = anonymous.text("please delete my account")
    assert "Settings > Delete account" in told and "erase" not in told.split("30 days")[1]

    deadline = time.monotonic() + 60  # the console carries it out ERASURE_DELAY_SECONDS (1 s here) later
    while time.monotonic() < deadline and (rows_of(stack, earlier.sender) or rows_of(stack, chat.sender)):
        time.sleep(0.5)
    assert rows_of(stack, earlier.sender) == [] and rows_of(stack, chat.sender) == []
    for gone in (earlier, chat):
        assert [e for e in gone.tracker()["events"] if e.get("event") in ("user", "bot")] == []
    assert wait_for_rows(stack, anonymous.sender, {"message"})  # nobody else's data went
    assert chat.texts("what are your opening hours")  # and the chat goes on, from a clean slate
