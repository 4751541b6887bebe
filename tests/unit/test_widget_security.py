"""Attacks on the widget channel (issue 18), with real socket.io clients against the channel alone (tests/unit/widget_server.py).

Identity per turn (point 2), limits that a new session or a typed "/restart" cannot reset (point 4), every
malformed frame answered (point 10), and what agents see being what the bot processed (point 15).
"""
import asyncio

import pytest
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.training_data.message import Message

from bot.identity import sign
from tests.unit.widget_server import OFFERED, SECRET, serve_widget


def signed(customer):
    return {"customer": {"id": customer, "signature": sign(customer, SECRET)}}


def codes(answers):
    return [a.get("code") for a in answers if "code" in a]


def run(scenario, redis_url, monkeypatch, **settings):
    async def main():
        async with serve_widget(redis_url, monkeypatch, **settings) as served:
            await scenario(served)
    asyncio.run(main())


# -- point 2: order access needs the session's own identity on the current turn

def test_a_turn_without_the_sessions_identity_is_refused(redis_url, monkeypatch):
    async def scenario(served):
        anna = await served.visitor()
        await anna.start(metadata=signed("C00017"))
        assert codes(await anna.say("show me my orders")) == ["identity_changed"]  # logged out, page not reloaded
        assert codes(await anna.say("show me my orders", metadata=signed("C00018"))) == ["identity_changed"]
        forged = {"customer": {"id": "C00017", "signature": "0" * 64}}
        assert codes(await anna.say("show me my orders", metadata=forged)) == ["identity_changed"]
        answer = await anna.say("show me my orders", metadata=signed("C00017"))
        assert codes(answer) == [] and served.bot.heard[-1].metadata["customer"]["id"] == "C00017"
        assert [m.metadata["customer_verified"] for m in served.bot.heard] == [True]  # the refused never reached it

        guest = await served.visitor()
        await guest.start()
        assert codes(await guest.say("show me my orders", metadata=signed("C00017"))) == ["identity_changed"]
        assert codes(await guest.say("hello")) == []
        await anna.close(), await guest.close()
    run(scenario, redis_url, monkeypatch)


# -- point 4: limits per address, and "/" commands only as buttons the bot offered

def test_one_address_cannot_open_sessions_without_limit(redis_url, monkeypatch):
    async def scenario(served):
        visitor = await served.visitor()
        mark = len(visitor.events)
        for _ in range(30):
            await visitor.sio.emit("session_request", {})
        await asyncio.sleep(1)
        assert visitor.names(mark).count("session_token") == 5
        assert [d["code"] for n, d in visitor.events[mark:] if n == "notice"] == ["too_many_sessions"] * 25
        other = await served.visitor()  # another tab from the same address: no fresh allowance
        await other.sio.emit("session_request", {})
        assert (await other.wait_for("notice"))["code"] == "too_many_sessions"
        await visitor.close(), await other.close()
    run(scenario, redis_url, monkeypatch, widget_session_rate=5)


def test_the_message_rate_counts_per_address_across_sessions(redis_url, monkeypatch):
    async def scenario(served):
        tabs = [await served.visitor() for _ in range(3)]
        for tab in tabs:
            await tab.start()
        answers = [await tab.say(f"hi {i}") for i in range(3) for tab in tabs]  # 3 per session, 9 from the address
        assert [codes(a) for a in answers].count(["rate_limited"]) == 3
        for tab in tabs:
            await tab.close()
    run(scenario, redis_url, monkeypatch, widget_rate=20, widget_address_rate=6)


def test_a_session_leaves_its_address_for_the_order_lookups(redis_url, monkeypatch):
    """The per-address count of failed lookups (bot.orders.attempts) reads where the channel says a session is from."""
    import redis

    from bot import redis_keys

    async def scenario(served):
        visitor = await served.visitor()
        session_id, _ = await visitor.start()
        stored = redis.Redis.from_url(redis_url).get(redis_keys.WIDGET_SESSION_ADDRESS.format(session_id=session_id))
        assert stored.decode() == served.address
        await visitor.close()
    run(scenario, redis_url, monkeypatch)


def is_command(text):
    """Whether Rasa's own parsing (its RegexMessageHandler) would take this text as an intent, skipping NLU."""
    unpacked = YAMLStoryReader.unpack_regex_message(Message(data={"text": text}))
    return unpacked.get("intent") is not None


@pytest.mark.parametrize("typed", ["/restart", "  /restart", "/session_start", '/track_order{"order_number": "100300"}',
                                   "/affirm@1.0", "/"])
def test_a_typed_command_reaches_the_bot_as_text(typed, redis_url, monkeypatch):
    async def scenario(served):
        visitor = await served.visitor()
        await visitor.start()
        assert codes(await visitor.say(typed)) == []
        heard = served.bot.heard[-1].text
        assert not is_command(heard) and heard.strip("\u2060 ") == typed.strip()
        await visitor.close()
    run(scenario, redis_url, monkeypatch)


def test_a_button_the_bot_offered_is_still_a_command(redis_url, monkeypatch):
    async def scenario(served):
        visitor = await served.visitor()
        await visitor.start()
        await visitor.say("/greet")  # the widget's own opening
        assert served.bot.heard[-1].text == "/greet"
        await visitor.say(OFFERED["payload"])  # the echo bot offered it in its answer
        assert served.bot.heard[-1].text == OFFERED["payload"] and is_command(OFFERED["payload"])
        stranger = await served.visitor()  # offered in someone else's conversation, not in this one
        await stranger.start()
        await stranger.say(OFFERED["payload"])
        assert not is_command(served.bot.heard[-1].text)
        await visitor.close(), await stranger.close()
    run(scenario, redis_url, monkeypatch)


# -- point 15: what agents see is what the bot processed

def test_display_text_is_the_offered_buttons_title_and_nothing_else(redis_url, monkeypatch):
    async def scenario(served):
        visitor = await served.visitor()
        await visitor.start()
        await visitor.say("I want to cancel every order", metadata={"display_text": "Yes, a person please"})
        assert "display_text" not in served.bot.heard[-1].metadata  # typed text is shown as typed
        await visitor.say("/affirm", metadata={"display_text": "Never mind, all is fine"})
        assert served.bot.heard[-1].metadata["display_text"] == OFFERED["title"]  # the title the bot showed
        await visitor.close()
    run(scenario, redis_url, monkeypatch)


# -- point 10: every frame is processed or answered with a notice

MALFORMED_MESSAGES = {
    "no data at all": (),
    "not an object": (["hello"],),
    "no text": ({"metadata": {}},),
}


@pytest.mark.parametrize("shape", MALFORMED_MESSAGES)
def test_a_malformed_message_gets_a_notice(shape, redis_url, monkeypatch):
    async def scenario(served):
        visitor = await served.visitor()
        await visitor.start()
        assert codes(await visitor.send(shape, *MALFORMED_MESSAGES[shape])) == ["malformed"]
        assert codes(await visitor.say("still here?")) == []  # and the connection goes on
        await visitor.close()
    run(scenario, redis_url, monkeypatch)


PROCESSED_ANYWAY = {
    "a lone surrogate in the text": ({"message": "hi \ud800 there"}, "hi \ufffd there"),
    "a non-ASCII signature": ({"message": "hi", "metadata": {"customer": {"id": "C1", "signature": "é" * 64}}}, "hi"),
    "a lone surrogate in the customer id": (
        {"message": "hi", "metadata": {"customer": {"id": "C\udc00", "signature": "0" * 64}}}, "hi"),
    "a deeply nested metadata string": ({"message": "hi", "metadata": "[" * 3000}, "hi"),
    "a display text with a lone surrogate": ({"message": "hi", "metadata": {"display_text": "\ud800"}}, "hi"),
}


@pytest.mark.parametrize("shape", PROCESSED_ANYWAY)
def test_a_message_with_unreadable_parts_is_processed_without_them(shape, redis_url, monkeypatch):
    frame, heard = PROCESSED_ANYWAY[shape]

    async def scenario(served):
        visitor = await served.visitor()
        await visitor.start()
        assert codes(await visitor.send(shape, frame)) == []
        assert served.bot.heard[-1].text == heard and served.bot.heard[-1].metadata["customer"] is None
        await visitor.close()
    run(scenario, redis_url, monkeypatch)


SESSION_REQUESTS = {
    "a non-ASCII token": {"session_id": "abcdefgh12345678", "session_token": "é" * 64},
    "a lone surrogate in the token": {"session_id": "abcdefgh12345678", "session_token": "\ud800" * 64},
    "a lone surrogate in the id": {"session_id": "abcdefgh1234567\ud800", "session_token": "0" * 64},
    "a non-ASCII signature": {"metadata": {"customer": {"id": "C1", "signature": "ü" * 64}}},
    "a deeply nested metadata string": {"metadata": "[" * 3000},
    "not an object": "hello",
}


@pytest.mark.parametrize("shape", SESSION_REQUESTS)
def test_an_unreadable_session_request_gets_a_fresh_anonymous_session(shape, redis_url, monkeypatch):
    async def scenario(served):
        visitor = await served.visitor()
        await visitor.sio.emit("session_request", SESSION_REQUESTS[shape])
        token = await visitor.wait_for("session_token")
        assert token["session_id"] != "abcdefgh12345678" and "history" not in visitor.names()
        await visitor.close()
    run(scenario, redis_url, monkeypatch)


def test_a_frame_too_deeply_nested_to_decode_gets_a_notice(redis_url, monkeypatch):
    async def scenario(served):
        visitor = await served.visitor()
        await visitor.start()
        mark = len(visitor.events)
        nested = "[" * 5000 + "]" * 5000  # what no JSON encoder would write, sent as the raw socket.io packet
        await visitor.sio.eio.send(f'2["user_uttered",{{"message":"hi","metadata":{nested}}}]')
        assert (await visitor.wait_for("notice", after=mark))["code"] == "malformed"
        assert codes(await visitor.say("still here?")) == []
        await visitor.close()
    run(scenario, redis_url, monkeypatch)


def test_an_unknown_event_gets_a_notice(redis_url, monkeypatch):
    async def scenario(served):
        visitor = await served.visitor()
        await visitor.start()
        assert codes(await visitor.send("an unknown event", {"message": "hi"}, event="user_said")) == ["malformed"]
        await visitor.close()
    run(scenario, redis_url, monkeypatch)
