from bot.channels.demo_page import demo_page
from bot.channels.sessions import message_metadata, page_identity, session_token, valid_session
from bot.identity import sign
from bot.tracker.transcript import history_from_events

SECRET = "s3cret"


def test_a_session_resumes_only_with_its_own_token():
    token = session_token("abcdefgh12345678", SECRET)
    assert valid_session("abcdefgh12345678", token, SECRET)
    assert not valid_session("abcdefgh12345679", token, SECRET)  # someone else's id
    assert not valid_session("abcdefgh12345678", token, "other-secret")
    assert not valid_session("abcdefgh12345678", None, SECRET)
    assert not valid_session("abcdefgh12345678", "é" * 64, SECRET)  # compare_digest would raise TypeError
    assert not valid_session("abcdefgh12345678", token.upper(), SECRET)
    assert not valid_session("short", session_token("short", SECRET), SECRET)
    assert session_token("abcdefgh12345678", SECRET) != sign("abcdefgh12345678", SECRET)  # not an identity signature


def test_a_session_is_bound_to_the_customer_the_page_had():
    anonymous = session_token("abcdefgh12345678", SECRET)
    anna = session_token("abcdefgh12345678", SECRET, "C00017")
    assert valid_session("abcdefgh12345678", anna, SECRET, "C00017")
    assert not valid_session("abcdefgh12345678", anna, SECRET)  # logged out: not Anna's chat any more
    assert not valid_session("abcdefgh12345678", anna, SECRET, "C00018")  # another customer
    assert not valid_session("abcdefgh12345678", anonymous, SECRET, "C00017")  # logged in: a fresh session
    assert not valid_session("abcdefgh|C00017", session_token("abcdefgh|C00017", SECRET), SECRET)  # not an id
    signed = {"metadata": {"customer": {"id": "C00017", "signature": sign("C00017", SECRET)}}}
    assert page_identity(signed, SECRET) == "C00017"
    assert page_identity({"metadata": {"customer": {"id": "C00017", "signature": "0" * 64}}}, SECRET) == ""
    assert page_identity({}, SECRET) == ""


def test_the_demo_page_signs_in_with_the_customers_own_name():
    from bot.settings import Settings
    settings = Settings(identity_secret=SECRET)
    page = demo_page(settings, "C00001", "Laura")
    assert '"name": "Laura"' in page and "Demo" not in page and "Logged in as Laura (C00001)" in page
    assert '"customer"' not in demo_page(settings)


def test_metadata_is_bounded_and_identity_checked():
    signed = {"customer": {"id": "C1", "signature": sign("C1", SECRET)}}
    assert message_metadata({"metadata": signed}, SECRET)["customer_verified"] is True
    assert message_metadata({"customData": signed}, SECRET)["customer"] == signed["customer"]
    forged = {"customer": {"id": "C1", "signature": "0" * 64}}
    assert message_metadata({"metadata": forged}, SECRET) == {"channel": "widget", "customer": None, "customer_verified": False}
    assert message_metadata({"metadata": {"x": "y" * 5000}}, SECRET)["customer_verified"] is False
    assert message_metadata({"metadata": "not json"}, SECRET)["customer"] is None
    # what agents see for a click is the title of the button the bot offered (read_turn), never the page's word
    assert "display_text" not in message_metadata({"metadata": {"display_text": "Yes"}}, SECRET)
    nested = {"metadata": "[" * 3000}  # json.loads raises RecursionError, not ValueError
    assert message_metadata(nested, SECRET) == {"channel": "widget", "customer": None, "customer_verified": False}
    named = {"customer": {"id": "C1", "signature": sign("C1", SECRET), "name": "Ann\ud800", "extra": "x"}}
    assert message_metadata({"metadata": named}, SECRET)["customer"] == {
        "id": "C1", "signature": sign("C1", SECRET), "name": "Ann\ufffd"}  # only what the bot reads, storable


def test_history_keeps_the_visible_transcript_in_order():
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "/greet", "timestamp": 0},
        {"event": "user", "text": "hi", "timestamp": 1},
        {"event": "user", "text": "/affirm", "metadata": {"display_text": "Yes, a person please"}, "timestamp": 1.5},
        {"event": "bot", "text": "Hello!", "data": {"buttons": [{"title": "A", "payload": "/a"}]}, "timestamp": 2},
        {"event": "slot", "name": "x", "value": 1},
        {"event": "bot", "text": "I'm Sam from the team", "metadata": {"agent": "Sam"}, "timestamp": 3},
    ]
    assert history_from_events(events) == [
        {"sender": "visitor", "text": "hi", "timestamp": 1},
        {"sender": "visitor", "text": "Yes, a person please", "timestamp": 1.5},
        {"sender": "bot", "agent": None, "text": "Hello!", "buttons": [{"title": "A", "payload": "/a"}], "timestamp": 2},
        {"sender": "agent", "agent": "Sam", "text": "I'm Sam from the team", "buttons": [], "timestamp": 3},
    ]


def test_turns_run_one_at_a_time_per_conversation_in_arrival_order_and_clean_up():
    import asyncio

    from bot.channels.turns import Turns

    turns, log = Turns(), []

    async def turn(session, name, seconds):
        async with turns.of(session):
            log.append(f"{name} in")
            await asyncio.sleep(seconds)
            log.append(f"{name} out")

    async def main():
        await asyncio.gather(turn("a", "a1", 0.05), turn("a", "a2", 0), turn("b", "b1", 0.01))

    asyncio.run(main())
    assert log.index("a1 out") < log.index("a2 in")  # the second waits for the first, same conversation
    assert log.index("b1 in") < log.index("a1 out")  # another conversation does not wait
    assert turns._locks == {} and turns._users == {}


def test_a_relayed_message_is_published_live_then_recorded_then_announced_as_recorded():
    import asyncio

    from rasa.core.channels.channel import UserMessage

    from bot.channels.relay import Relay

    log = []

    class Queue:
        async def publish(self, kind, cid, **data):
            log.append((kind, cid, data.get("text")))

    async def in_turn(message):
        log.append(("rasa", message.sender_id, message.text))

    async def notice(sid, code):
        log.append(("notice", sid, code))

    relay = Relay(None, Queue(), None, notice)
    asyncio.run(relay.to_agent(UserMessage("where is it", sender_id="c1"), "where is it", "sid", in_turn))
    # live first (the agent reads it at once), then Rasa's transcript, then consoles that read it too early re-read
    assert log == [("message", "c1", "where is it"), ("rasa", "c1", "where is it"), ("recorded", "c1", None)]
