"""Rasa's stores, tuned for live chat (endpoints.yml names them).

ThreadedSQLTrackerStore: Rasa's SQLTrackerStore does blocking SQL inside `async def`s, on the server's only
event loop: while it loads or saves one conversation (tens of ms for a long one), nothing else moves, not
even an agent's reply waiting to be relayed to another visitor's widget. Here those calls run in a worker
thread, and saving no longer loads the whole conversation a second time to find which events are new for
the event broker: they are the ones it is about to store.

PromptRedisLockStore: Rasa's Redis lock store checks every second whether a conversation's lock is free. A
message that arrives while the previous turn is still being saved (a quick visitor, an agent's line being
appended) then waits a whole second for nothing; here a turn that ends wakes the next one in the same
process at once, and the next in line also checks every 10 ms for turns on other replicas."""
from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, Dict, Iterable, List, Optional

from rasa.core.lock_store import LockError, RedisLockStore, TicketLock
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

LOCK_POLL_SECONDS = 0.01


def _finish(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (the SQL store's methods block instead) to its result, in this thread."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the SQL tracker store suspended; it cannot run in a worker thread")


class ThreadedSQLTrackerStore(SQLTrackerStore):
    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await asyncio.to_thread(_finish, SQLTrackerStore.retrieve(self, sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        return await asyncio.to_thread(_finish, SQLTrackerStore.retrieve_full_tracker(self, conversation_id))

    async def keys(self) -> Iterable[str]:
        return await asyncio.to_thread(_finish, SQLTrackerStore.keys(self))

    async def save(self, tracker: DialogueStateTracker) -> None:
        stored = await asyncio.to_thread(self._store, tracker)
        if self.event_broker is not None:  # after the commit, so the broker never reports an event that was lost
            for event in stored:
                self.event_broker.publish({"sender_id": tracker.sender_id, **event})

    def _store(self, tracker: DialogueStateTracker) -> List[dict]:
        """Add the tracker's events that are not in the database yet (as SQLTrackerStore.save does)."""
        with self.session_scope() as session:
            known = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            stored = []
            for event in itertools.islice(tracker.events, known, len(tracker.events)):
                data = event.as_dict()
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                    action_name=data.get("name"), data=json.dumps(data)))
                stored.append(data)
            session.commit()
        return stored


class PromptRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)
        self._waiting: Dict[str, List[asyncio.Future]] = {}

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """As Rasa's, but a turn that ends in this process wakes the turns waiting here at once. The lock lives
        in Redis, so a turn on another replica can hold it as well: the next in line also checks every 10 ms,
        the n-th every n² x 10 ms (at most every `wait_time_in_seconds`), fewer checks than Rasa's one per
        second each however many wait (they are synchronous Redis calls, on the event loop)."""
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:  # expired
                break
            if not lock.is_locked(ticket):
                return lock
            ahead = max(1, ticket - (lock.now_serving or 0))
            await self._released_here(conversation_id, min(LOCK_POLL_SECONDS * ahead * ahead, wait_time_in_seconds))
            self.update_lock(conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    async def _released_here(self, conversation_id: str, seconds: float) -> None:
        """Until a turn of this conversation ends in this process, or `seconds` pass."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(conversation_id, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, seconds)
        except asyncio.TimeoutError:
            pass
        finally:
            waiters = self._waiting.get(conversation_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiting[conversation_id]

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Rasa calls this when a turn ends (on the event loop); the turns waiting here then look at once."""
        super().cleanup(conversation_id, ticket_number)
        for waiter in self._waiting.pop(conversation_id, []):
            if not waiter.done():
                waiter.set_result(None)
