"""Our Rasa stores against real SQL and Redis: the threaded tracker store keeps every event once, in order,
and tells the event broker each new event once; the lock store hands a busy conversation on promptly."""
import asyncio
import time
import uuid

from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_stores import PromptRedisLockStore, ThreadedSQLTrackerStore
from bot.settings import RedisTarget


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
