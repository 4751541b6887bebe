"""Agents read the conversations queued to their teams or handed to them (and those with a ticket); admins read
all; bot-only conversations and other teams' stay closed, in the API and in the live stream. Notes and ticket
answers are capped, with an answer that says so, never cut short in silence."""
import asyncio
import json

from bot.console.blueprints import queue as queue_blueprint
from bot.settings import MAX_STORED_TEXT
from tests.unit.console_app import rasa_trackers, served


async def teams(console):
    """(admin, an orders agent, a payments agent and their record), the agents available."""
    admin = await console.admin()
    orders, _ = await console.user("agent", teams="orders")
    payments, payer = await console.user("agent", teams="payments")
    for agent in (orders, payments):
        assert (await agent.call("POST", "/api/presence", {"status": "available"}))[0] == 200
    return admin, orders, payments, payer


def test_an_agent_reads_only_their_teams_conversations_those_handed_to_them_and_ticketed_ones(tmp_path, redis_url):
    async def scenario():
        async with rasa_trackers() as rasa, served(tmp_path, redis_url, rasa_api_url_override=rasa) as console:
            admin, orders, payments, payer = await teams(console)
            theirs, bot_only, ticketed = await console.handoff("orders"), "test-bot-only-chat", "test-ticketed-chat"
            console.ctx.records.create_ticket(ticketed, "anna@example.com", "My lid is broken", "no_agents")

            for cid in (theirs, bot_only):
                status, refused = await payments.call("GET", f"/api/conversations/{cid}")
                assert status == 403 and "not handed to you or your teams" in refused["error"]
            assert (await payments.call("POST", f"/api/conversations/{theirs}/notes", {"text": "peek"}))[0] == 403
            assert (await payments.call("POST", f"/api/conversations/{theirs}/claim"))[0] == 403
            waiting = [h["conversation_id"] for h in (await payments.call("GET", "/api/queue"))[1]["waiting"]]
            assert theirs not in waiting
            assert (await payments.call("GET", f"/api/conversations/{ticketed}"))[0] == 200

            status, view = await orders.call("GET", f"/api/conversations/{theirs}")
            assert status == 200 and view["transcript"][0]["text"] == "where is my parcel?"
            assert theirs in [h["conversation_id"] for h in (await orders.call("GET", "/api/queue"))[1]["waiting"]]
            assert (await admin.call("GET", f"/api/conversations/{bot_only}"))[0] == 200

            assert (await orders.call("POST", f"/api/conversations/{theirs}/claim"))[0] == 200
            moved = await orders.call("POST", f"/api/conversations/{theirs}/transfer", {"agent": payer["username"]})
            assert moved[0] == 200, moved
            assert (await payments.call("GET", f"/api/conversations/{theirs}"))[0] == 200  # handed to them now
    asyncio.run(scenario())


async def stream_events(stream, until_text):
    """The data events of an open stream, up to the message that says `until_text`."""
    seen = []
    async for line in stream.content:
        if line.startswith(b"data: "):
            seen.append(json.loads(line[len(b"data: "):]))
            if seen[-1].get("text") == until_text:
                return seen
    return seen


def test_the_live_stream_carries_only_what_the_agent_may_read(tmp_path, redis_url, monkeypatch):
    monkeypatch.setattr(queue_blueprint, "HEARTBEAT_SECONDS", 0.2)

    async def scenario():
        async with served(tmp_path, redis_url) as console:
            _, _, payments, _ = await teams(console)
            theirs, mine = await console.handoff("orders"), await console.handoff("payments")
            queue = console.ctx.queue
            async with payments.stream() as stream:  # entered on the stream's headers, sent once it has subscribed
                await queue.publish("queued", theirs, reason="requested")
                await queue.publish("message", theirs, sender="visitor", text="my card number is 4111")
                await queue.publish("message", mine, sender="visitor", text="hello payments")
                seen = await asyncio.wait_for(stream_events(stream, "hello payments"), timeout=10)
            assert [e["conversation_id"] for e in seen if e["type"] in ("message", "queued")] == [mine]
    asyncio.run(scenario())


def test_notes_and_ticket_answers_over_the_cap_are_refused_with_a_clear_answer(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            agent, _ = await console.user("agent")
            cid = await console.handoff("general")
            ticket = console.ctx.records.create_ticket(cid, "anna@example.com", "My lid is broken", "no_agents")
            too_long, longest = "x" * (MAX_STORED_TEXT + 1), "y" * MAX_STORED_TEXT

            status, refused = await agent.call("POST", f"/api/conversations/{cid}/notes", {"text": too_long})
            assert status == 413 and f"at most {MAX_STORED_TEXT} characters" in refused["error"]
            status, refused = await agent.call("POST", f"/api/tickets/{ticket.id}/reply", {"reply": too_long})
            assert status == 413 and f"at most {MAX_STORED_TEXT} characters" in refused["error"]
            assert console.ctx.records.ticket(ticket.id).reply is None  # nothing stored, nothing cut short
            assert (await agent.call("POST", f"/api/conversations/{cid}/notes", {"text": {"a": 1}}))[0] == 400

            assert (await agent.call("POST", f"/api/conversations/{cid}/notes", {"text": longest}))[0] == 201
            assert console.ctx.records.notes(cid)[-1]["text"] == longest
    asyncio.run(scenario())


def test_the_cap_is_a_setting(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url, console_max_text=50) as console:
            agent, _ = await console.user("agent")
            cid = await console.handoff("general")
            status, refused = await agent.call("POST", f"/api/conversations/{cid}/notes", {"text": "z" * 51})
            assert status == 413 and "at most 50 characters; this one has 51" in refused["error"]
    asyncio.run(scenario())
