"""Every console route answers with the code and the shape its clients (console.js, analytics.js) read, and every
error type is answered in one way: a store down 503, Rasa down 502, not yours 409, bad input 400. The routes
other unit tests already cover (sign-in limits, access, the live stream, user input, the CSV) are left to them."""
import asyncio
import contextlib

from bot.console.app import SECURITY_HEADERS
from bot.console.blueprints.tickets import NOT_SENDING
from bot.handoff.records import RecordsUnavailable
from tests.conftest import free_port
from tests.unit.console_app import rasa_trackers, served


async def fetch(client, path: str):
    """(status, headers, text) of a GET that follows no redirect (pages and static files are not JSON)."""
    async with client.http.get(client.base + path, allow_redirects=False) as resp:
        return resp.status, resp.headers, await resp.text()


def point(pool, port):
    """Every connection of the pool to `port`: new ones, and those made already (each keeps the port it was made
    with), in use too, so one a background task (the watcher) holds cannot come back to the pool on the old port."""
    pool.connection_kwargs["port"] = port
    for connection in [*pool._available_connections, *pool._in_use_connections]:
        connection.port = port


@contextlib.asynccontextmanager
async def redis_down(console):
    """The console's Redis client (queue, presence, sessions) sent to a port nobody listens on, until the block ends."""
    pool = console.ctx.queue.redis.connection_pool
    port = pool.connection_kwargs["port"]
    point(pool, free_port())
    await pool.disconnect()  # each reconnects to the port it now has
    try:
        yield
    finally:
        point(pool, port)
        await pool.disconnect()


def test_the_pages_health_and_static_files(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            guest, (agent, _), admin = console.client(), await console.user("agent"), await console.admin()
            status, headers, body = await fetch(guest, "/health")
            assert (status, body) == (200, '{"status":"ok"}')
            assert all(headers[k] == v for k, v in SECURITY_HEADERS.items())
            status, _, body = await fetch(guest, "/login")
            assert status == 200 and "<html" in body.lower()
            status, headers, _ = await fetch(guest, "/")
            assert status == 302 and headers["Location"] == "/login"
            status, _, body = await fetch(agent, "/")
            assert status == 200 and "<html" in body.lower()
            assert (await fetch(guest, "/analytics"))[0] == 302
            assert (await fetch(agent, "/analytics"))[0] == 403
            assert (await fetch(admin, "/analytics"))[0] == 200
            status, _, body = await fetch(guest, "/static/console.js")
            assert status == 200 and body
            assert await guest.call("GET", "/api/nowhere") == (404, {"error": "Requested URL /api/nowhere not found"})
    asyncio.run(scenario())


def test_me_says_who_is_signed_in_with_the_sessions_csrf_token(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            agent, made = await console.user("agent", name="Pia")
            status, me = await agent.call("GET", "/api/me")
            assert status == 200 and me == {"user": made, "csrf": agent.csrf}
            assert await console.client().call("GET", "/api/me") == (401, {"error": "sign in first"})
    asyncio.run(scenario())


def test_next_in_line_claims_the_first_waiting_conversation_of_the_agents_teams(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            agent, _ = await console.user("agent", teams=["payments"], max_chats=1)
            first = await console.handoff("payments", enqueued_at=1.0)  # waiting since 1970: first in line
            status, claimed = await agent.call("POST", "/api/queue/next")
            assert status == 200 and claimed["result"] == "claimed"
            assert claimed["conversation"]["conversation_id"] == first and claimed["conversation"]["status"] == "active"
            assert await agent.call("POST", "/api/queue/next") == (
                409, {"error": "you already have 1 conversations open", "result": "full"})
            status, queue = await agent.call("GET", "/api/queue")
            assert status == 200 and [h["conversation_id"] for h in queue["mine"]] == [first]
            assert set(queue) == {"waiting", "mine", "agents", "handling_seconds", "now"}

            other, _ = await console.user("agent", teams=["orders"])
            console.ctx.queue.claim_next = _nobody_waiting
            assert await other.call("POST", "/api/queue/next") == (
                404, {"error": "nobody is waiting for your teams", "result": "empty"})
    asyncio.run(scenario())


async def _nobody_waiting(_agent):
    return None


def test_an_agent_replies_types_and_hands_back_a_conversation_they_hold(tmp_path, redis_url):
    async def scenario():
        calls = []
        async with rasa_trackers(calls) as rasa, served(tmp_path, redis_url, rasa_api_url_override=rasa) as console:
            agent, me = await console.user("agent", name="Pia")
            cid = await console.handoff("general")
            assert (await agent.call("POST", f"/api/conversations/{cid}/claim"))[0] == 200

            assert await agent.call("POST", f"/api/conversations/{cid}/messages", {"text": " hello "}) == (200, {"ok": True})
            path, [said] = calls[-1]
            assert path.endswith("/tracker/events") and said["text"] == "hello"
            assert said["metadata"] == {"agent": {"id": me["username"], "name": "Pia"}}
            assert await agent.call("POST", f"/api/conversations/{cid}/typing", {"on": True}) == (200, {"ok": True})
            assert (await console.ctx.queue.get(cid)).first_response_at > 0

            assert await agent.call("POST", f"/api/conversations/{cid}/handback", {"summary": "sorted"}) == (
                200, {"result": "handed_back"})
            assert calls[-1] == (f"/conversations/{cid}/trigger_intent", {"name": "handoff_finished", "entities": {}})
            assert [n["text"] for n in console.ctx.records.notes(cid)] == ["Hand-back summary: sorted"]
            assert (await console.ctx.queue.get(cid)).status == "closed"
    asyncio.run(scenario())


def test_not_yours_is_409(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            agent, _ = await console.user("agent")
            cid = await console.handoff("general")
            not_yours = {"error": "this conversation is not yours right now; claim it first"}
            for route, body in (("messages", {"text": "hi"}), ("typing", {"on": True}), ("handback", {})):
                assert await agent.call("POST", f"/api/conversations/{cid}/{route}", body) == (409, not_yours)
            assert await agent.call("POST", f"/api/conversations/{cid}/transfer", {"team": "orders"}) == (
                409, {"error": "this conversation is not yours right now", "result": "not_yours"})
            assert await agent.call("POST", f"/api/conversations/{cid}/transfer", {"agent": "nobody-here"}) == (
                409, {"error": "that agent is not available"})
            other, _ = await console.user("agent")
            assert (await other.call("POST", f"/api/conversations/{cid}/claim"))[0] == 200
            assert await agent.call("POST", f"/api/conversations/{cid}/claim") == (
                409, {"error": "another agent has already taken this conversation", "result": "taken"})
    asyncio.run(scenario())


def test_bad_input_is_400_and_says_what_is_wrong(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            admin, (agent, _) = await console.admin(), await console.user("agent")
            cid = await console.handoff("general")
            assert (await agent.call("POST", f"/api/conversations/{cid}/claim"))[0] == 200
            cases = [
                (agent, "POST", "/api/presence", {"status": "asleep"}, "status must be one of available, away"),
                (agent, "POST", f"/api/conversations/{cid}/messages", {"text": "  "}, "write the message first"),
                (agent, "POST", f"/api/conversations/{cid}/transfer", {}, "say which agent or team"),
                (agent, "POST", f"/api/conversations/{cid}/transfer", {"team": "moon"},
                 "team must be one of orders, payments, general"),
                (agent, "GET", "/api/tickets?status=lost", None, "status must be one of open, answered, closed"),
                (admin, "POST", "/api/canned", {"title": "Hi"}, "a canned response needs a title and a text"),
                (admin, "GET", "/api/analytics?from=yesterday", None, "dates must look like 2026-11-26"),
                (admin, "GET", "/api/analytics?from=2026-02-01&to=2026-01-01", None,
                 "the range must run forward and span at most 366 days"),
                (admin, "POST", "/api/users", {"username": "x"}, None),
            ]
            for client, method, path, body, message in cases:
                status, answer = await client.call(method, path, body)
                assert status == 400 and list(answer) == ["error"], (path, status, answer)
                assert message is None or answer["error"] == message, (path, answer)
            status, answer = await agent.call("POST", f"/api/conversations/{cid}/messages", {"text": "x" * 2001})
            assert status == 413 and "at most 2000 characters" in answer["error"]
    asyncio.run(scenario())


def test_rasa_down_is_502_and_says_what_was_done(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:  # rasa_port: a free port, so nobody answers there
            admin, (agent, _) = await console.admin(), await console.user("agent")
            cid = await console.handoff("general")
            status, answer = await admin.call("GET", f"/api/conversations/{cid}")
            assert status == 502 and answer["error"].startswith("could not read the conversation: ")
            assert (await agent.call("POST", f"/api/conversations/{cid}/claim"))[0] == 200
            status, answer = await agent.call("POST", f"/api/conversations/{cid}/messages", {"text": "hi"})
            assert status == 502 and answer["error"].startswith("sent, but not saved in the transcript: could not ")
            status, answer = await agent.call("POST", f"/api/conversations/{cid}/handback", {})
            assert status == 502 and answer["error"].startswith("handed back, but the bot did not answer: could not ")
            assert (await console.ctx.queue.get(cid)).status == "closed"  # the queue let go all the same
    asyncio.run(scenario())


def test_redis_down_is_503_on_every_route(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            agent, _ = await console.user("agent")
            cid = await console.handoff("general")
            async with redis_down(console):
                for method, path, body in (("GET", "/api/queue", None), ("POST", "/api/presence", {"status": "away"}),
                                           ("POST", f"/api/conversations/{cid}/claim", None), ("GET", "/api/me", None)):
                    status, answer = await agent.call(method, path, body)
                    assert status == 503 and answer["code"] == "queue_unavailable", (path, status, answer)
                    assert answer["error"].startswith("the handoff queue is unavailable (ConnectionError: ")
                status, answer = await console.client().call("POST", "/api/login", {"username": "a", "password": "b"})
                assert status == 503 and answer["error"].startswith("the handoff queue is unavailable")
                assert answer["code"] == "queue_unavailable"  # the code the pages show their banner for
            assert (await agent.call("GET", "/api/queue"))[0] == 200  # back as soon as Redis is
    asyncio.run(scenario())


def test_records_down_is_503_with_what_could_not_be_done(tmp_path, redis_url, monkeypatch):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            agent, _ = await console.user("agent")

            def down(*_args):
                raise RecordsUnavailable("could not read tickets: the database did not answer")
            monkeypatch.setattr(console.ctx.records, "tickets", down)
            monkeypatch.setattr(console.ctx.records, "canned", down)
            for path in ("/api/tickets", "/api/canned"):
                assert await agent.call("GET", path) == (
                    503, {"error": "could not read tickets: the database did not answer", "code": "records_unavailable"})
    asyncio.run(scenario())


def test_tickets_are_listed_answered_and_not_sent_without_a_mail_server(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            agent, me = await console.user("agent")
            ticket = console.ctx.records.create_ticket("test-ticket-chat", "anna@example.com", "Lid broken", "no_agents")
            status, listed = await agent.call("GET", "/api/tickets?status=open")
            assert status == 200 and listed["mail"] == {"sending": False, "note": NOT_SENDING}
            assert [t["id"] for t in listed["tickets"]] == [ticket.id]
            assert await agent.call("POST", f"/api/tickets/{ticket.id}/send") == (
                409, {"error": "this ticket has no answer to send yet"})

            status, answered = await agent.call("POST", f"/api/tickets/{ticket.id}/reply", {"reply": "A new lid is on its way."})
            assert status == 200 and answered["mail"] == {"sent": False, "error": None, "note": NOT_SENDING}
            assert answered["ticket"]["reply"] == "A new lid is on its way." and answered["ticket"]["status"] == "answered"
            assert answered["ticket"]["replied_by"] == me["username"]
            assert await agent.call("POST", f"/api/tickets/{ticket.id}/send") == (409, {"error": NOT_SENDING})
            assert await agent.call("POST", "/api/tickets/999999/reply", {"reply": "hello"}) == (
                404, {"error": "no such ticket"})
            assert await agent.call("POST", "/api/tickets/999999/send") == (404, {"error": "no such ticket"})
    asyncio.run(scenario())


def test_admins_keep_the_canned_responses_agents_use(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            admin, (agent, _) = await console.admin(), await console.user("agent")
            status, made = await admin.call("POST", "/api/canned", {"title": "Hello", "text": "Hi, I am here."})
            assert status == 201 and made["canned"]["title"] == "Hello"
            canned_id = made["canned"]["id"]
            assert await admin.call("POST", "/api/canned", {"title": "Hello", "text": "again"}) == (
                409, {"error": "there is already a canned response called 'Hello'"})
            assert (await agent.call("POST", "/api/canned", {"title": "Mine", "text": "no"}))[0] == 403
            status, changed = await admin.call("PUT", f"/api/canned/{canned_id}", {"title": "Hello", "text": "Hi!"})
            assert status == 200 and changed["canned"]["text"] == "Hi!"
            status, listed = await agent.call("GET", "/api/canned")
            assert status == 200 and [c["text"] for c in listed["canned"] if c["id"] == canned_id] == ["Hi!"]
            assert await admin.call("DELETE", f"/api/canned/{canned_id}") == (200, {"ok": True})
            status, listed = await agent.call("GET", "/api/canned")
            assert status == 200 and canned_id not in [c["id"] for c in listed["canned"]]
    asyncio.run(scenario())


def test_analytics_demo_data_and_erasure_are_for_admins(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            admin, (agent, _) = await console.admin(), await console.user("agent")
            status, figures = await admin.call("GET", "/api/analytics?from=2026-11-01&to=2026-11-28")
            assert status == 200 and figures["daily"] == [] and figures["low_ratings"] == []  # nothing happened then
            assert {"totals", "handoffs", "ratings", "top", "funnel", "agents", "demo", "labels"} <= set(figures)
            assert await admin.call("DELETE", "/api/analytics/demo-data") == (200, {"removed": 0})
            status, erased = await admin.call("DELETE", "/api/customers/cust-42/data")
            assert status == 200 and erased["customer_id"] == "cust-42" and isinstance(erased["removed"], dict)
            for method, path in (("GET", "/api/analytics"), ("DELETE", "/api/analytics/demo-data"),
                                 ("DELETE", "/api/customers/cust-42/data")):
                assert await agent.call(method, path) == (403, {"error": "this needs the role admin"})
            async with admin.http.delete(admin.base + "/api/customers/cust-42/data") as resp:  # no CSRF token
                assert resp.status == 403 and (await resp.json())["error"].startswith("missing or wrong CSRF token")
    asyncio.run(scenario())


def test_sign_in_wants_json(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            guest = console.client()
            async with guest.http.post(guest.base + "/api/login", data="username=admin",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:
                status, text = resp.status, await resp.text()
            assert (status, text) == (415, '{"error":"send JSON"}')
    asyncio.run(scenario())

