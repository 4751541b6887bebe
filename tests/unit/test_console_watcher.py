"""The agent's live event stream lasts only as long as their right to it: signing out, being deactivated or
losing the agent role ends it at the next heartbeat, and their presence goes, so auto-assign passes them over."""
import asyncio
import logging

import pytest

from bot.console.blueprints import queue as queue_blueprint
from bot.console.watcher import Watcher
from tests.unit.console_app import served

HEARTBEAT = 0.2  # seconds (10 in production): the tests wait a few of them, not minutes


async def sign_out(how, console, agent, me):
    admin = await console.admin()
    if how == "logout":
        return await agent.call("POST", "/api/logout")
    change = {"active": False} if how == "deactivated" else {"role": "trainer"}
    return await admin.call("PATCH", f"/api/users/{me['id']}", change)


@pytest.mark.parametrize("how", ["logout", "deactivated", "no longer an agent"])
def test_the_stream_ends_and_presence_goes_when_the_agent_is_signed_out_or_removed(tmp_path, redis_url, monkeypatch, caplog,
                                                                                    how):
    monkeypatch.setattr(queue_blueprint, "HEARTBEAT_SECONDS", HEARTBEAT)

    async def scenario():
        async with served(tmp_path, redis_url) as console:
            queue = console.ctx.queue
            agent, me = await console.user("agent")
            assert (await agent.call("POST", "/api/presence", {"status": "available"}))[0] == 200
            async with agent.stream() as stream:
                assert stream.status == 200
                await asyncio.sleep(3 * HEARTBEAT)  # a few heartbeats while still allowed
                assert (await queue.agent(me["username"])).status == "available"
                assert (await sign_out(how, console, agent, me))[0] == 200
                rest = await asyncio.wait_for(stream.content.read(), timeout=20 * HEARTBEAT)  # the server ends it
            assert b'"type": "signed_out"' in rest
            assert (await queue.agent(me["username"])).status == "offline"

            cid = await console.handoff("general")
            watcher = Watcher(queue, console.ctx.link, console.ctx.rasa, max_wait=3600, auto_assign=True)
            only_them = [a for a in await queue.agents() if a.id == me["username"]]
            assert await watcher.assign([await queue.get(cid)], only_them) != []  # not given to them
            assert (await queue.get(cid)).status == "waiting"
    asyncio.run(scenario())
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]  # the stream ended cleanly


def test_deactivating_an_agent_drops_their_presence_at_once(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            agent, me = await console.user("agent")
            assert (await agent.call("POST", "/api/presence", {"status": "available"}))[0] == 200
            assert (await sign_out("deactivated", console, agent, me))[0] == 200
            assert (await console.ctx.queue.agent(me["username"])).status == "offline"
    asyncio.run(scenario())


def test_the_watcher_stops_when_asked_even_if_its_redis_call_turned_the_cancel_into_a_timeout(redis_url):
    """A cancel that lands in a Redis call as its timeout fires comes back as a timeout error (async-timeout), which
    the watcher's loop takes for a hiccup: stop() still ends it, at once, without a cancel."""
    from bot.handoff.queue import HandoffQueue, QueueUnavailable

    async def scenario():
        queue = HandoffQueue.from_url(redis_url)
        watcher = Watcher(queue, link=None, rasa=None, max_wait=3600, auto_assign=False)  # type: ignore[arg-type]
        ticks = 0

        async def swallowed_cancel():
            nonlocal ticks
            ticks += 1
            raise QueueUnavailable("the handoff queue is unavailable (TimeoutError: Timeout reading from socket)")

        watcher.lead = swallowed_cancel  # type: ignore[method-assign]
        task = asyncio.get_running_loop().create_task(watcher.run())
        try:
            while not ticks:
                await asyncio.sleep(0.01)
            watcher.stop()
            await asyncio.wait_for(task, timeout=1.0)  # the loop ended by itself
        finally:
            task.cancel()
            await queue.close()
        return ticks

    assert asyncio.run(scenario()) == 1  # asked to stop during its wait between ticks: no tick after it
