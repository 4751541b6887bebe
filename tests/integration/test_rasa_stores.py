"""Our Rasa stores against real SQL and Redis: the threaded tracker store keeps every event once, in order,
and tells the event broker each new event once; the lock store hands a busy conversation on promptly."""
import asyncio
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_stores
from bot.rasa_stores import PromptRedisLockStore, ThreadedSQLTrackerStore, TrackerStoreUnavailable
from bot.settings import RedisTarget
from tests.tcp_proxy import TcpProxy, through


class Recorder(EventBroker):
    def __init__(self) -> None:
        self.published = []

    def publish(self, event) -> None:
        self.published.append(event)


def test_the_tracker_store_keeps_each_event_once_and_tells_the_broker_once(database_url):
    domain = Domain.load("domain")
    broker = Recorder()
    store = ThreadedSQLTrackerStore(domain=domain, host=database_url, event_broker=broker)
    cid = f"store-{uuid.uuid4().hex}"

    async def conversation():
        tracker = DialogueStateTracker(cid, domain.slots)
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered("hi", {"name": "greet", "confidence": 0.9}))
        await store.save(tracker)
        again = await store.retrieve(cid)
        again.update(BotUttered("Hello!"))
        again.update(ActionExecuted("action_listen"))
        await store.save(again)
        await store.save(again)  # nothing new: nothing stored or published twice
        return await store.retrieve(cid), cid in await store.keys()

    stored, listed = asyncio.run(conversation())
    assert [e.type_name for e in stored.events] == ["action", "user", "bot", "action"] and listed
    assert [e["event"] for e in broker.published] == ["action", "user", "bot", "action"]
    assert {e["sender_id"] for e in broker.published} == {cid}
    assert asyncio.run(store.retrieve(f"nobody-{uuid.uuid4().hex}")) is None


def test_with_the_database_down_a_save_waits_for_it_and_then_fails_loudly(database_url):
    """A restart or failover: the load and the save wait up to DATABASE_RETRY_SECONDS and go on when the
    database is back, nothing stored twice; past that, TrackerStoreUnavailable, never a silent loss."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a server to take down: PostgreSQL (TEST_DATABASE_URL, as .ci/run sets)")
    url = sa.engine.make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    domain = Domain.load("domain")
    store = ThreadedSQLTrackerStore(domain=domain, host=through(proxy, database_url))
    store.retry_seconds = 3  # DATABASE_RETRY_SECONDS (get_settings, read once per process)
    cid = f"store-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(cid, domain.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("hi", {"name": "greet", "confidence": 0.9}))
    back = threading.Timer(0, lambda: None)
    try:
        asyncio.run(store.save(tracker))
        proxy.down()  # the pooled connection is cut too
        back = threading.Timer(1.5, proxy.up)
        back.start()
        tracker.update(BotUttered("Hello!"))
        started = time.monotonic()
        asyncio.run(store.save(tracker))
        waited = time.monotonic() - started
        assert 1.0 < waited < 3.5
        assert [e.type_name for e in asyncio.run(store.retrieve(cid)).events] == ["action", "user", "bot"]
        proxy.down()
        started = time.monotonic()
        with pytest.raises(TrackerStoreUnavailable):
            asyncio.run(store.retrieve(cid))
        assert 2.5 < time.monotonic() - started < 6
    finally:
        back.cancel()
        proxy.close()
        store.engine.dispose()


def test_a_tracker_store_error_reaches_the_channel_instead_of_a_fallback_to_memory(database_url, monkeypatch):
    """Rasa wraps the store in FailSafeTrackerStore, which on an error loads the conversation as new and saves it
    in memory; bot.rasa_server installs an agent that uses the store itself."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore

    domain = Domain.load("domain")
    store = ThreadedSQLTrackerStore(domain=domain, host=database_url)
    assert isinstance(Agent._create_tracker_store(store, domain), FailSafeTrackerStore)  # Rasa's own
    monkeypatch.setattr(Agent, "_create_tracker_store", Agent.__dict__["_create_tracker_store"])  # undone after
    rasa_stores.install()
    assert Agent._create_tracker_store(store, domain) is store
    assert isinstance(Agent._create_tracker_store(None, domain), InMemoryTrackerStore)  # configured so, not a fallback
    store.engine.dispose()


def lock_store(redis_url, prefix):
    target = RedisTarget.from_url(redis_url)
    return PromptRedisLockStore(EndpointConfig(url=target.host, port=target.port, password=target.password or None,
                                               db=target.db, key_prefix=prefix))


def hand_over(holder, waiter, wait_time_in_seconds):
    """One turn holds a conversation's lock for 0.3 s while a second waits; (order, seconds from release to
    acquisition)."""
    cid, order = f"lock-{uuid.uuid4().hex}", []

    async def first():
        async with holder.lock(cid):
            order.append("first in")
            await asyncio.sleep(0.3)
            order.append("first out")
            return time.perf_counter()

    async def second():
        await asyncio.sleep(0.05)
        async with waiter.lock(cid, wait_time_in_seconds=wait_time_in_seconds):
            order.append("second in")
            return time.perf_counter()

    async def both():
        return await asyncio.gather(first(), second())

    released, acquired = asyncio.run(both())
    return order, acquired - released


def test_a_turn_that_ends_wakes_the_next_one_in_the_same_process(redis_url):
    store = lock_store(redis_url, f"test{uuid.uuid4().hex[:6]}")
    order, waited = hand_over(store, store, wait_time_in_seconds=10)  # polling would take 10 s
    assert order == ["first in", "first out", "second in"]
    assert waited < 3  # polling would have taken 10 s
    assert store._waiting == {}
    store.close()


def test_a_turn_on_another_replica_is_noticed_soon_after_it_ends(redis_url):
    prefix = f"test{uuid.uuid4().hex[:6]}"
    order, waited = hand_over(lock_store(redis_url, prefix), lock_store(redis_url, prefix), wait_time_in_seconds=1)
    assert order == ["first in", "first out", "second in"]
    assert waited < 0.5  # Rasa's own store re-checks only every second


class DriverError(Exception):
    def __init__(self, pgcode=None):
        super().__init__("driver says no")
        self.pgcode = pgcode


@pytest.mark.parametrize(("error", "waited_for"), [
    (sa.exc.OperationalError("SELECT 1", {}, DriverError()), True),  # no server answered at all
    (sa.exc.OperationalError("SELECT 1", {}, DriverError("08006")), True),  # the connection failed
    (sa.exc.OperationalError("SELECT 1", {}, DriverError("57P01")), True),  # the server is shutting down
    (sa.exc.DBAPIError("SELECT 1", {}, DriverError("XX000"), connection_invalidated=True), True),
    (sa.exc.OperationalError("SELECT 1", {}, DriverError("57014")), False),  # a statement timeout
    (sa.exc.OperationalError("SELECT 1", {}, DriverError("28P01")), False),  # a wrong password
    (sa.exc.ProgrammingError("SELECT 1", {}, DriverError("42P01")), False),  # a bad statement
    (ValueError("not the database"), False),
])
def test_only_an_unreachable_database_is_waited_for(error, waited_for):
    assert rasa_stores.unreachable(error) is waited_for
