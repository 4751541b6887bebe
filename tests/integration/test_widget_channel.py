"""The widget's socket.io channel with a real socket.io client against the running stack."""
import asyncio

import pytest
import socketio

from bot.responses import response_text
from tests import widget_client
from tests.waiting import eventually, wait_until
from tests.widget_client import TIMEOUT


class Visitor(widget_client.Visitor):
    def __init__(self, stack, origin=None):
        super().__init__(stack.settings, origin)


def run(coro):
    return asyncio.run(coro)


def test_protocol_session_and_a_bot_answer(stack):
    async def scenario():
        visitor = await Visitor(stack).connect()
        session_id, token = await visitor.start()
        assert len(session_id) >= 20 and len(token) == 64
        assert await visitor.wait_for("session_confirm") == session_id  # Rasa's own event, Rasa's payload
        answers = await visitor.say("what are your opening hours")
        assert "Torstrasse" in answers[0]["text"]
        offer = await visitor.say("blorp fizzle") + await visitor.say("qwxz plonk")
        assert [q["title"] for q in offer[-1]["quick_replies"]] == ["Yes, a person please", "No, I'll try again"]
        await visitor.close()
    run(scenario())


def test_resume_replays_history_once_and_needs_the_token(stack):
    async def scenario():
        first = await Visitor(stack).connect()
        session_id, token = await first.start()
        await first.say("do you sell gift cards")
        await first.close()

        again = await Visitor(stack).connect()  # a reload: same id and token from the browser
        assert (await again.start(session_id=session_id, session_token=token))[0] == session_id
        history = (await again.wait_for("history"))["messages"]
        assert [m["sender"] for m in history] == ["visitor", "bot"] and history[0]["text"] == "do you sell gift cards"
        assert [n for n, _ in again.events].count("history") == 1
        await again.close()

        thief = await Visitor(stack).connect()  # knows the id, not the token
        stolen_id, _ = await thief.start(session_id=session_id, session_token="0" * 64)
        assert stolen_id != session_id and "history" not in [n for n, _ in thief.events]
        await thief.close()
    run(scenario())


def test_a_message_cannot_be_sent_into_someone_elses_session(stack):
    async def scenario():
        owner = await Visitor(stack).connect()
        owner_id, _ = await owner.start()
        intruder = await Visitor(stack).connect()
        await intruder.start()
        mark = len(owner.events)
        await intruder.say("hello", session_id=owner_id)  # names the owner's session
        probe = await owner.settled(stack.settings.redis.url())  # what the intruder's turn sent is in by now
        assert [n for n, _ in owner.events[mark:probe]] == []  # the owner saw nothing of it
        await owner.close(), await intruder.close()
    run(scenario())


def test_a_foreign_origin_cannot_connect(stack):
    async def scenario():
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Visitor(stack, origin="https://evil.example").connect()
    run(scenario())


def test_size_and_rate_limits_are_told_not_dropped(stack):
    async def scenario():
        visitor = await Visitor(stack).connect()
        try:
            await limits(visitor, stack)
        finally:
            await visitor.close()
    run(scenario())


async def limits(visitor, stack):
    await visitor.start()
    too_long = await visitor.say("x" * (stack.settings.widget_max_message_bytes + 1))
    assert too_long[0]["code"] == "too_long" and "shorten" in too_long[0]["text"]
    mark = len(visitor.events)
    for i in range(stack.settings.widget_rate + 2):
        await visitor.sio.emit("user_uttered", {"message": f"hi {i}"})
    notice = await visitor.wait_for("notice", after=mark)
    assert notice["code"] == "rate_limited"
    mark = len(visitor.events)  # answers to the burst may still be arriving: look for the refusal itself
    await visitor.sio.emit("user_uttered", {"message": None})
    refused = await visitor.wait_for("notice", after=mark)
    assert refused["code"] in ("malformed", "rate_limited")


def test_connections_per_address_are_limited(stack):
    # other tests' sockets may still count (a killed browser is noticed only at the ping timeout),
    # so open connections until one is refused and look at the counter at that moment
    import redis

    from bot import redis_keys

    limit = stack.settings.widget_max_connections_per_ip
    counter = redis.Redis.from_url(stack.settings.redis.url())

    async def scenario():
        visitors, refused_at = [], None
        try:
            for _ in range(limit + 5):
                try:
                    visitors.append(await Visitor(stack).connect())
                except socketio.exceptions.ConnectionError:
                    refused_at = int(counter.get(redis_keys.WIDGET_CONNECTIONS.format(address="127.0.0.1")) or 0)
                    break
        finally:
            for v in visitors:
                await v.close()
        assert refused_at is not None and len(visitors) <= limit
        assert limit - 1 <= refused_at <= limit
        wait_until(lambda: int(counter.get(redis_keys.WIDGET_CONNECTIONS.format(address="127.0.0.1")) or 0) < limit,
                   what="the closed connections' places freed")
        late = await Visitor(stack).connect()  # closing frees the places again
        await late.close()
    run(scenario())


def test_signed_identity_reaches_the_bot_and_a_forged_one_does_not(stack, database_url):
    from bot.identity import sign
    from bot.orders.sql import SqlOrders

    shop = SqlOrders(database_url)
    order = shop.order("100300")
    shop.close()

    async def scenario():
        forged = {"customer": {"id": order.customer_id, "signature": "f" * 64}}
        visitor = await Visitor(stack).connect()
        await visitor.start(metadata=forged)
        answer = await visitor.say("show me my orders", metadata=forged)
        assert "order number" in " ".join(a.get("text", "") for a in answer)  # treated as anonymous
        await visitor.close()
        signed = {"customer": {"id": order.customer_id, "signature": sign(order.customer_id, stack.settings.identity_secret)}}
        visitor = await Visitor(stack).connect()  # the page the shop renders for the signed-in customer
        await visitor.start(metadata=signed)
        answer = await visitor.say("show me my orders", metadata=signed)
        assert "Your most recent orders" in " ".join(a.get("text", "") for a in answer)
        await visitor.close()
    run(scenario())


def test_a_session_resumes_only_for_the_customer_it_was_started_for(stack):
    from bot.identity import sign

    def page(customer=None):  # what the shop page sends with session_request
        return {"customer": {"id": customer, "signature": sign(customer, stack.settings.identity_secret)}} if customer else {}

    async def reload(session_id, token, customer=None):
        tab = await Visitor(stack).connect()
        got, _ = await tab.start(session_id=session_id, session_token=token, metadata=page(customer))
        await asyncio.sleep(0.3)  # a resumed session's history would be here by now
        await tab.close()
        return got, "history" in [n for n, _ in tab.events]

    async def scenario():
        anonymous = await Visitor(stack).connect()
        guest_id, guest_token = await anonymous.start(metadata=page())
        await anonymous.say("do you sell gift cards")
        await anonymous.close()
        assert await reload(guest_id, guest_token) == (guest_id, True)  # a reload: the same chat
        logged_in = await reload(guest_id, guest_token, "C00011")  # logged in mid-chat: a fresh session
        assert logged_in[0] != guest_id and not logged_in[1]

        anna = await Visitor(stack).connect()
        anna_id, anna_token = await anna.start(metadata=page("C00011"))
        assert "Your most recent orders" in " ".join(
            a.get("text", "") for a in await anna.say("show me my orders", metadata=page("C00011")))
        await anna.close()
        assert await reload(anna_id, anna_token, "C00011") == (anna_id, True)
        for after_her in (None, "C00012"):  # logged out, or another customer: her chat (and its orders) stays hers
            got, history = await reload(anna_id, anna_token, after_her)
            assert got != anna_id and not history
    run(scenario())


def said(answers):
    return " ".join(a.get("text", "") for a in answers)


def test_a_signed_in_customers_chat_shows_no_orders_to_a_turn_without_her_signature(stack):
    """Issue 18, point 2: the shop logged her out; the slots and the session remember her, the page does not."""
    from bot.identity import sign

    anna = {"customer": {"id": "C00011", "signature": sign("C00011", stack.settings.identity_secret)}}

    async def scenario():
        tab = await Visitor(stack).connect()
        anna_id, anna_token = await tab.start(metadata=anna)
        assert "Your most recent orders" in said(await tab.say("show me my orders", metadata=anna))
        answer = await tab.say("show me my orders")  # the same connection, no signature on this turn
        assert "Your most recent orders" not in said(answer) and answer[0]["code"] == "identity_changed"
        await tab.close()
        reloaded = await Visitor(stack).connect()  # her stored session, with the page's (empty) identity
        got, _ = await reloaded.start(session_id=anna_id, session_token=anna_token)
        answer = await reloaded.say("show me my orders")
        assert got != anna_id and "Your most recent orders" not in said(answer) and "order number" in said(answer)
        await reloaded.close()
    run(scenario())


def test_a_typed_restart_does_not_reset_the_failed_lookups(stack, shop):
    """Issue 18, point 4: "/restart" would be Rasa's restart intent, wiping the failed_lookups slot."""
    order = shop.order("100300")

    async def scenario():
        visitor = await Visitor(stack).connect()
        try:
            await visitor.start()
            for attempt in range(5):
                answer = said(await visitor.say(f"track order 99999{attempt} guess{attempt}@example.com"))
            assert "can't look up more orders" in answer
            await visitor.say("/restart")
            answer = said(await visitor.say(f"track order {order.number} {order.email}"))
            assert order.number not in answer and "can't look up more orders" in answer
        finally:
            await visitor.close()
    run(scenario())


def test_malformed_frames_are_told_and_unreadable_characters_replaced(stack):
    """Issue 18, point 10, over the whole stack: a lone surrogate would fail the tracker store's write."""
    async def scenario():
        visitor = await Visitor(stack).connect()
        try:
            await visitor.start()
            assert [a["code"] for a in await visitor.send("no data", event="user_uttered")] == ["malformed"]
            answer = await visitor.say("what are your opening hours \ud83d")
            assert "Torstrasse" in said(answer) and all("code" not in a for a in answer)
        finally:
            await visitor.close()
    run(scenario())


def test_another_process_reaches_the_visitor_through_redis(stack):
    """What the agent console (or a second Rasa replica) does: publish to the visitor's room via Redis."""
    async def scenario():
        visitor = await Visitor(stack).connect()
        try:
            session_id, _ = await visitor.start()
            outsider = socketio.AsyncRedisManager(stack.settings.redis.url(), channel="shopbot-widget", write_only=True)
            mark = len(visitor.events)
            await outsider.emit("bot_uttered", {"text": "Hi, I'm Sam from the team.", "agent": "Sam"}, room=session_id)
            assert await visitor.wait_for("bot_uttered", after=mark) == {"text": "Hi, I'm Sam from the team.", "agent": "Sam"}
            other = await Visitor(stack).connect()  # and nobody else
            await other.start()
            mark = len(other.events)
            await outsider.emit("bot_uttered", {"text": "only for the first visitor"}, room=session_id)
            probe = await other.settled(stack.settings.redis.url())  # published after it, arrives after it
            assert [n for n, _ in other.events[mark:probe]] == []
            await other.close()
        finally:
            await visitor.close()
    run(scenario())


@pytest.fixture(scope="module")
def second_replica(stack):
    """Another Rasa process with the same model, database and Redis, as a second replica would be."""
    import dataclasses
    import time

    from bot.runner import Child, commands
    from tests.conftest import free_port

    # replicas behind one URL share the public origins they accept
    settings = dataclasses.replace(stack.settings, rasa_port=free_port(), widget_origins=tuple(stack.settings.allowed_origins))
    name, args, env, health = commands(settings, stack.model)["rasa"]
    replica = Child(f"{name} (replica)", args, health, stack.log_dir / "rasa-replica.log", env)
    replica.start()
    try:
        replica.wait_healthy(time.monotonic() + 180)
        yield settings
    finally:
        replica.stop()


def test_two_replicas_serve_one_session(stack, second_replica):
    async def scenario():
        tab_a = await Visitor(stack).connect()
        try:
            session_id, token = await tab_a.start()
            tab_b = Visitor(stack)
            tab_b.url = second_replica.rasa_url  # the same session, through the other replica
            await tab_b.connect()
            try:
                assert (await tab_b.start(session_id=session_id, session_token=token))[0] == session_id
                mark = len(tab_a.events)
                answer = await tab_b.say("do you have gift cards")
                assert "gift" in answer[0]["text"].lower()
                seen_on_a = await tab_a.wait_for("bot_uttered", after=mark)  # delivered through Redis
                assert seen_on_a == answer[0]
            finally:
                await tab_b.close()
        finally:
            await tab_a.close()
    run(scenario())


def test_no_answer_is_told_not_silent(stack):
    """With the action server gone, the order question's action fails; the visitor is told, and offered a person
    (bot.turn_budget; before it, Rasa answered nothing and the channel's no_answer notice told it)."""
    import time

    actions = stack.children[0]

    async def scenario():
        visitor = await Visitor(stack).connect()
        try:
            await visitor.start()
            actions.process.kill()
            actions.process.wait()
            answer = await visitor.say("where is my order")
            assert [a.get("text") for a in answer] == [response_text("utter_action_failed")]
            assert [q["payload"] for q in answer[0]["quick_replies"]] == ["/contact_human_agent"]
        finally:
            await visitor.close()
            stack.revive()
            actions.wait_healthy(time.monotonic() + 60)
    run(scenario())


def test_a_waiting_visitor_can_stop_waiting_and_the_bot_takes_over_again(stack, nobody_on_shift):
    from tests.integration.conftest import make_agent

    make_agent(stack, "wanda", max_chats=5)  # someone is on shift, so the visitor is queued

    async def scenario():
        visitor = await Visitor(stack).connect()
        try:
            session_id, _ = await visitor.start()
            queued = await visitor.say("I want to talk to a person")
            assert any("in line" in m.get("text", "") for m in queued), queued
            mark = len(visitor.events)
            await visitor.sio.emit("leave_queue", {})
            assert (await visitor.wait_for("handoff", after=mark)) == {"state": "left"}
            said = await eventually(lambda: [d.get("text", "") for n, d in visitor.events[mark:] if n == "bot_uttered"],
                                    TIMEOUT, "the bot's answer after leaving the queue")
            assert "left the queue" in said[0]
            answer = await visitor.say("what are your opening hours")  # the bot answers again
            assert answer and all("code" not in m for m in answer) and "in line" not in answer[0].get("text", "")
            mark = len(visitor.events)
            await visitor.sio.emit("leave_queue", {})  # not waiting any more: nothing happens, nothing breaks
            await asyncio.sleep(1)
            assert [n for n, _ in visitor.events[mark:] if n in ("handoff", "notice")] == []
            return session_id
        finally:
            await visitor.close()

    session_id = run(scenario())
    from bot.handoff.queue import HandoffQueue

    async def status():
        queue = HandoffQueue.from_url(stack.settings.redis.url())
        try:
            return await queue.status(session_id)
        finally:
            await queue.close()
    assert run(status()) == "left"
