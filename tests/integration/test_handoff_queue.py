"""The agent queue against a real Redis: ordering, atomic claims under a race, limits, presence,
transfer, hand back, and a Redis restart with AOF."""
import asyncio
import datetime as dt
import multiprocessing
import random
import time

import pytest

from bot.embedded_redis import EmbeddedRedis
from bot.handoff.hours import BusinessHours
from bot.handoff.queue import CLAIM_PAGE, Agent, Handoff, HandoffQueue
from bot.handoff.routing import availability
from bot.settings import RedisTarget
from tests.conftest import free_port

QUEUE_DB = 3  # away from the running stack's keys


@pytest.fixture
def queue_url(redis_url):
    url = RedisTarget.from_url(redis_url).url(db=QUEUE_DB)

    async def clear():
        queue = HandoffQueue.from_url(url)
        await queue.clear()
        await queue.close()
    asyncio.run(clear())
    return url


def run(url, scenario, **kwargs):
    async def main():
        queue = HandoffQueue.from_url(url, **kwargs)
        try:
            return await scenario(queue)
        finally:
            await queue.close()
    return asyncio.run(main())


def test_fifo_with_head_starts_for_frustration_and_value(queue_url):
    async def scenario(q):
        now = time.time()
        await q.enqueue(Handoff("calm-early", enqueued_at=now - 120))
        await q.enqueue(Handoff("calm-late", enqueued_at=now - 60))
        await q.enqueue(Handoff("angry-latest", frustration=1.0, enqueued_at=now))  # 600 s head start
        await q.enqueue(Handoff("vip", customer_value=1.0, enqueued_at=now - 10))  # 300 s head start
        placement = await q.enqueue(Handoff("calm-early"))  # asking again keeps the place
        return [h.conversation_id for h in await q.waiting()], placement
    order, again = run(queue_url, scenario)
    assert order == ["angry-latest", "vip", "calm-early", "calm-late"]
    assert (again.status, again.position) == ("waiting", 3)


def test_a_long_wait_beats_any_head_start(queue_url):
    async def scenario(q):
        now = time.time()
        await q.enqueue(Handoff("waited-17-min", enqueued_at=now - 1000))  # head starts add up to 900 s
        await q.enqueue(Handoff("furious-vip", frustration=1.0, customer_value=1.0, enqueued_at=now))
        return [h.conversation_id for h in await q.waiting()]
    assert run(queue_url, scenario) == ["waited-17-min", "furious-vip"]


def _racing_agent(url, name, cids, barrier, results):
    """One agent in its own process, clicking through the whole queue in its own order."""
    async def claim_all(q):
        me = Agent(name, name.title(), max_chats=1000)
        order = cids[:]
        random.shuffle(order)
        await q.redis.ping()  # connected before the start signal
        barrier.wait()
        return [c for c in order if await q.claim(c, me) == "claimed"]
    results.put((name, run(url, claim_all)))


def test_100_conversations_raced_by_4_agents_are_each_claimed_exactly_once(queue_url):
    cids = [f"race-{i}" for i in range(100)]
    run(queue_url, lambda q: asyncio.gather(*(q.enqueue(Handoff(c)) for c in cids)))
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(4), context.Queue()
    agents = [context.Process(target=_racing_agent, args=(queue_url, f"agent{i}", cids, barrier, results)) for i in range(4)]
    for process in agents:
        process.start()
    won = dict(results.get(timeout=60) for _ in agents)
    for process in agents:
        process.join(timeout=10)
    claimed = [c for got in won.values() for c in got]
    assert sorted(claimed) == sorted(cids)  # every one, none twice
    assert sum(1 for got in won.values() if got) >= 2  # it was a race, not one agent alone

    async def check(q):
        owners = {c: (await q.get(c)).agent_id for c in cids}
        chats = {name: {h.conversation_id for h in await q.chats(name)} for name in won}
        return owners, chats, await q.waiting()
    owners, chats, waiting = run(queue_url, check)
    assert waiting == []
    for name, got in won.items():
        assert chats[name] == set(got) and all(owners[c] == name for c in got)


def test_claim_respects_the_agents_limit_and_reports_why(queue_url):
    async def scenario(q):
        for c in ("a", "b", "c"):
            await q.enqueue(Handoff(c))
        anna = Agent("anna", "Anna", max_chats=2)
        results = [await q.claim(c, anna) for c in ("a", "b", "c")]
        results.append(await q.claim("a", Agent("ben", "Ben")))
        results.append(await q.claim("nope", anna))
        return results
    assert run(queue_url, scenario) == ["claimed", "claimed", "full", "taken", "gone"]


def test_claim_next_follows_teams(queue_url):
    async def scenario(q):
        await q.enqueue(Handoff("pay", team="payments", enqueued_at=time.time() - 50))
        await q.enqueue(Handoff("ord", team="orders"))
        orders_agent = Agent("olga", "Olga", teams=["orders"])
        got = await q.claim_next(orders_agent)
        return got.conversation_id, await q.claim_next(orders_agent)
    assert run(queue_url, scenario) == ("ord", None)


def test_claim_next_finds_a_team_conversation_far_down_a_long_queue(queue_url):
    """claim_next reads the queue a page at a time; what an agent may take can be pages away."""
    async def scenario(q):
        now = time.time()
        for i in range(CLAIM_PAGE * 2 + 5):
            await q.enqueue(Handoff(f"pay-{i}", team="payments", enqueued_at=now - 1000 + i))
        await q.enqueue(Handoff("ord-late", team="orders", enqueued_at=now))
        olga = Agent("olga", "Olga", teams=["orders"], max_chats=5)
        got = await q.claim_next(olga)
        paula = Agent("paula", "Paula", teams=["payments"], max_chats=5)
        return got.conversation_id, [(await q.claim_next(paula)).conversation_id for _ in range(2)]
    assert run(queue_url, scenario) == ("ord-late", ["pay-0", "pay-1"])


def test_transfer_and_hand_back(queue_url):
    async def scenario(q):
        anna, ben = Agent("anna", "Anna"), Agent("ben", "Ben", max_chats=1)
        await q.enqueue(Handoff("t1", enqueued_at=time.time() - 30))
        await q.claim("t1", anna)
        steps = [await q.transfer_to_agent("t1", "ben", anna),  # not Ben's to give
                 await q.transfer_to_agent("t1", "anna", ben)]
        after_transfer = await q.get("t1")
        steps.append(await q.transfer_to_team("t1", "ben", "payments"))
        requeued = await q.get("t1")
        position = (await q.placement("t1")).position
        await q.claim("t1", anna)
        handed = await q.hand_back("t1", "anna", "refund issued")
        again = await q.hand_back("t1", "anna", "twice")
        closed, chats, handling = await q.get("t1"), await q.chats("anna"), await q.handling_seconds()
        return steps, after_transfer, requeued, position, handed, again, closed, chats, handling
    steps, moved, requeued, position, handed, again, closed, chats, handling = run(queue_url, scenario)
    assert steps == ["not_yours", "transferred", "requeued"]
    assert moved.agent_id == "ben"
    assert (requeued.status, requeued.team, position) == ("waiting", "payments", 1)
    assert handed and not again
    assert (closed.status, closed.summary) == ("closed", "refund issued") and chats == []
    assert 0 <= handling < 60  # measured, not the default


def test_leaving_the_queue_and_asking_again(queue_url):
    async def scenario(q):
        await q.enqueue(Handoff("l1"))
        left = await q.leave("l1", "expired")
        twice = await q.leave("l1", "expired")
        status = await q.status("l1")
        placement = await q.enqueue(Handoff("l1"))  # a new request after the old one ended
        return left, twice, status, placement.status
    assert run(queue_url, scenario) == (True, False, "expired", "queued")


def test_presence_expires_without_heartbeat(queue_url):
    async def scenario(q):
        await q.register_agent(Agent("pia", "Pia", teams=["orders"], max_chats=4))
        await q.heartbeat("pia", "available")
        online = (await q.agent("pia")).status
        await asyncio.sleep(1.6)
        gone = (await q.agent("pia")).status
        await q.heartbeat("pia", "away")
        away = await q.agent("pia")
        await q.offline("pia")
        return online, gone, away, (await q.agent("pia")).status
    online, gone, away, offline = run(queue_url, scenario, presence_ttl=1)
    assert (online, gone, offline) == ("available", "offline", "offline")
    assert (away.status, away.teams, away.max_chats, away.free) == ("away", ["orders"], 4, 0)


def test_availability_says_why_nobody_can_come(queue_url):
    async def scenario(q):
        closed = BusinessHours.parse("mon-fri 09:00-17:00", "UTC")
        sunday = dt.datetime(2026, 11, 29, 12, tzinfo=dt.timezone.utc)
        when_closed = await availability(q, closed, sunday)
        nobody = await availability(q, BusinessHours.parse("", "UTC"))
        await q.register_agent(Agent("ava", "Ava"))
        await q.heartbeat("ava")
        return when_closed, nobody, await availability(q, BusinessHours.parse("", "UTC"))
    closed, nobody, ok = run(queue_url, scenario)
    assert (closed.ok, closed.reason, closed.opens_at.weekday()) == (False, "closed", 0)
    assert (nobody.ok, nobody.reason) == (False, "no_agents")
    assert ok.ok


def test_waiting_conversations_survive_a_redis_restart_with_aof(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", free_port(), appendonly=True).start()
    try:
        run(server.url, lambda q: asyncio.gather(*(q.enqueue(Handoff(f"aof-{i}", frustration=i / 10)) for i in range(5))))
        before = run(server.url, lambda q: q.waiting())
        time.sleep(1.2)  # appendfsync everysec: what a crash could lose at most
        server.process.kill()  # no clean shutdown: only the append-only file can bring them back
        server.process.wait()
        server.start()
        after = run(server.url, lambda q: q.waiting())
    finally:
        server.stop()
    assert [h.conversation_id for h in after] == [h.conversation_id for h in before] == [f"aof-{i}" for i in (4, 3, 2, 1, 0)]
    assert after == before


def test_chats_of_an_agent_who_went_away_go_back_to_the_queue_at_their_place(queue_url):
    """The console's watcher: an agent offline (no heartbeat) past the grace period gives their chats back;
    the visitor is told (through the widget's socket.io channel in Redis) and keeps their place."""
    import pickle

    import redis.asyncio as aioredis

    from bot.channels import WIDGET_SOCKET_CHANNEL
    from bot.console.visitor_link import VisitorLink
    from bot.console.watcher import ORPHAN_AFTER_SECONDS, Watcher

    async def scenario(q):
        now = time.time()
        await q.enqueue(Handoff("first", team="orders", enqueued_at=now - 300))
        await q.enqueue(Handoff("later", team="orders", enqueued_at=now - 10))
        anna = Agent("anna", "Anna", max_chats=3)
        await q.register_agent(anna)
        await q.heartbeat("anna")
        assert await q.claim("first", anna) == "claimed"
        listener = aioredis.Redis.from_url(queue_url).pubsub()
        await listener.subscribe(WIDGET_SOCKET_CHANNEL)
        watcher = Watcher(q, VisitorLink(queue_url), rasa=None, max_wait=3600, auto_assign=False)
        await watcher.tick(now)
        still_hers = (await q.get("first")).status
        await q.offline("anna")  # the console tab closed
        await watcher.tick(now + 1)  # just gone: a reload would bring her back, so nothing moves yet
        after_a_moment = (await q.get("first")).status
        await watcher.tick(now + 1 + ORPHAN_AFTER_SECONDS)
        told = []
        for _ in range(40):
            message = await listener.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message:
                data = pickle.loads(message["data"])  # noqa: S301 (python-socketio's own format, our Redis)
                if data.get("room") == "first":
                    told.append(data["data"])
        await listener.close()
        return (still_hers, after_a_moment, (await q.get("first")).status, [h.conversation_id for h in await q.waiting()],
                await q.chats("anna"), told)

    still_hers, after_a_moment, status, waiting, chats, told = run(queue_url, scenario)
    assert (still_hers, after_a_moment, status) == ("active", "active", "waiting")
    assert waiting == ["first", "later"] and chats == []  # back at the front: it has waited longest
    assert {"state": "transferred", "team": "orders", "reason": "agent_offline"} in told
    assert any(t.get("state") == "waiting" and t.get("position") == 1 for t in told)
