"""Redis down and back (issue 21): against a real redis-server of the test's own, stopped and started again on the
same port (never the machine's Redis). The widget's limits fail closed with a notice, an unknown handoff state is
retried (never answered by the bot as if no agent had the chat), the console answers 503 with a code its pages
know and recovers by itself, and the socket.io Redis manager resubscribes."""
import asyncio
import json

import pytest
import socketio

import bot.channels.widget as widget
from bot.embedded_redis import EmbeddedRedis
from bot.handoff.queue import Handoff, HandoffQueue
from bot.metrics import ERRORS
from tests.conftest import free_port
from tests.unit.console_app import served
from tests.unit.widget_server import serve_widget


@pytest.fixture
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", free_port(), password="down-and-back").start()
    yield server
    server.stop()


def errors(component, kind):
    return ERRORS.labels(component, kind)._value.get()


def notices(visitor, after=0):
    return [data["code"] for event, data in visitor.events[after:] if event == "notice"]


async def wait_until(condition, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


def test_limits_fail_closed_with_a_notice_and_recover(own_redis, monkeypatch):
    async def scenario():
        async with serve_widget(own_redis.url, monkeypatch) as served_widget:
            visitor = await served_widget.visitor()
            await visitor.start()
            before = errors("widget", "limits_unavailable")
            own_redis.stop()
            await visitor.sio.emit("user_uttered", {"message": "where is my parcel?"})
            await wait_until(lambda: "unavailable" in notices(visitor))
            assert served_widget.bot.heard == []  # refused, and the visitor was told to try again
            assert await refusal(served_widget) == "unavailable"  # a new connection is refused, not let through
            assert errors("widget", "limits_unavailable") >= before + 2
            own_redis.start()
            mark = len(visitor.events)
            await visitor.sio.emit("user_uttered", {"message": "where is my parcel?"})
            answer = await visitor.wait_for("bot_uttered", after=mark)
            assert answer["text"] == "echo where is my parcel?"
            again = await served_widget.visitor()  # connections are counted again
            await again.start()
            await visitor.sio.disconnect()
            await again.sio.disconnect()
    asyncio.run(scenario())


async def refusal(served_widget):
    """The code of the reason a new connection is refused with (the widget retries on "unavailable")."""
    client, reasons = socketio.AsyncClient(reconnection=False), []
    client.on("connect_error", lambda data: reasons.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(served_widget.settings.rasa_url, headers={"Origin": served_widget.settings.allowed_origins[0]},
                             socketio_path="/socket.io", transports=["websocket"], wait_timeout=3)
    await client.disconnect()
    return reasons[0]["data"]["code"] if reasons else None


def serve_with_queue_on(queue_redis, redis_url, monkeypatch, **overrides):
    """The widget with its limits on the run's Redis and the handoff queue on `queue_redis`, so the queue alone
    can go away (the same Redis in production; this isolates the handoff state's handling)."""
    class QueueOnOwnRedis(HandoffQueue):
        @classmethod
        def from_url(cls, url, **kwargs):
            return super().from_url(queue_redis.url, **kwargs)

    monkeypatch.setattr(widget, "HandoffQueue", QueueOnOwnRedis)
    return serve_widget(redis_url, monkeypatch, **overrides)


def test_a_message_while_the_handoff_state_is_unknown_waits_and_reaches_the_agent(own_redis, redis_url, monkeypatch):
    async def scenario():
        async with serve_with_queue_on(own_redis, redis_url, monkeypatch) as served_widget:
            visitor = await served_widget.visitor()
            session_id, _ = await visitor.start()
            queue = HandoffQueue.from_url(own_redis.url)
            await queue.enqueue(Handoff(session_id, team="general"))  # with an agent's queue: the bot is paused
            await queue.close()
            own_redis.stop()
            await visitor.sio.emit("user_uttered", {"message": "are you still there?"})
            await wait_until(lambda: "handoff_unknown" in notices(visitor))
            assert served_widget.bot.heard == []  # not answered as if nobody had the chat
            own_redis.start()
            queue = HandoffQueue.from_url(own_redis.url)
            async with queue.events() as events:  # the channel retries: the message goes to the agents live
                relayed = await next_message(events)
            await queue.leave(session_id, "left")
            await queue.close()
            assert relayed["conversation_id"] == session_id and relayed["text"] == "are you still there?"
            await wait_until(lambda: [m.text for m in served_widget.bot.heard] == ["are you still there?"])
            assert "no_answer" not in notices(visitor) and "not_delivered" not in notices(visitor)
            await visitor.sio.disconnect()
    asyncio.run(scenario())


async def next_message(events, timeout=15.0):
    for _ in range(int(timeout)):
        raw = await events.next(timeout=1.0)
        if raw and json.loads(raw).get("type") == "message":
            return json.loads(raw)
    raise AssertionError("no relayed message")


def test_a_message_whose_handoff_state_stays_unknown_is_told_not_delivered(own_redis, redis_url, monkeypatch):
    async def scenario():
        async with serve_with_queue_on(own_redis, redis_url, monkeypatch, widget_handoff_retry_seconds=1.0) as sw:
            visitor = await sw.visitor()
            await visitor.start()
            before = errors("widget", "handoff_unknown")
            own_redis.stop()
            await visitor.sio.emit("user_uttered", {"message": "hello?"})
            await wait_until(lambda: "not_delivered" in notices(visitor))
            assert notices(visitor) == ["handoff_unknown", "not_delivered"]
            assert sw.bot.heard == []
            assert errors("widget", "handoff_unknown") > before
            await visitor.sio.disconnect()
    asyncio.run(scenario())


def test_the_socketio_redis_manager_resubscribes_after_a_restart(own_redis, monkeypatch):
    async def scenario():
        async with serve_widget(own_redis.url, monkeypatch) as served_widget:
            visitor = await served_widget.visitor()
            await visitor.start()
            await visitor.settled(own_redis.url)  # another process (the console) reaches the visitor through Redis
            own_redis.stop()
            await asyncio.sleep(0.5)
            own_redis.start()
            # the manager's listener waits 1 s, then 2 s... before it subscribes again; what is published before
            # that is not heard (pub/sub keeps nothing), so probe until one arrives
            visitor.timeout = 1
            reached = await probed(visitor, own_redis.url, tries=20)
            await visitor.sio.disconnect()
            assert reached, "the visitor's room was not reached through Redis again within 20 s"
    asyncio.run(scenario())


async def probed(visitor, redis_url, tries):
    for _ in range(tries):
        try:
            await visitor.settled(redis_url)
            return True
        except AssertionError:
            continue
    return False


def test_console_answers_503_with_its_code_renders_pages_and_recovers(own_redis, tmp_path):
    async def scenario():
        async with served(tmp_path, own_redis.url) as console:
            admin = await console.admin()
            assert (await admin.call("GET", "/api/queue"))[0] == 200
            before = errors("console", "queue_unavailable")
            own_redis.stop()
            for path in ("/api/queue", "/api/me", "/api/tickets"):
                status, data = await admin.call("GET", path)
                assert (status, data["code"]) == (503, "queue_unavailable"), path
            for path in ("/", "/train", "/analytics"):  # the page's shell, whose script shows the banner
                async with admin.http.get(console.base + path, allow_redirects=False) as resp:
                    assert resp.status == 503 and "/static/common.js" in await resp.text(), path
            assert errors("console", "queue_unavailable") >= before + 6
            own_redis.start()  # the same client, no restart: the server's Redis client reconnects
            status, data = await admin.call("GET", "/api/me")
            assert (status, data["user"]["username"]) == (200, "admin")
            assert (await admin.call("GET", "/api/queue"))[0] == 200
    asyncio.run(scenario())


def test_after_a_restart_commands_and_pipelines_go_through_on_the_first_try(own_redis):
    """Every pooled connection is dead after a restart: a command or pipeline that draws one reconnects and is sent
    again (bot.redis_clients), where redis-py alone reports the first use of each as an error."""
    import redis.asyncio as aioredis

    from bot.redis_clients import async_client, pipelined

    def fill(pipe):
        pipe.incr("restarts")
        pipe.get("restarts")

    async def scenario():
        ours, plain = async_client(own_redis.url), aioredis.Redis.from_url(own_redis.url)
        for client in (ours, plain):
            await client.ping()  # a pooled connection each
        await asyncio.to_thread(own_redis.stop)
        await asyncio.to_thread(own_redis.start)
        assert await ours.ping()
        with pytest.raises(aioredis.ConnectionError):
            await plain.ping()  # without the retry
        await asyncio.to_thread(own_redis.stop)
        await asyncio.to_thread(own_redis.start)
        assert (await pipelined(ours, fill, transaction=True))[0] >= 1  # a pipeline on a dead connection too
        await asyncio.to_thread(own_redis.stop)
        with pytest.raises(aioredis.ConnectionError):  # really down: it fails, after one more try
            await pipelined(ours, fill)
        await asyncio.to_thread(own_redis.start)
        await ours.close()
        await plain.close()
    asyncio.run(scenario())
