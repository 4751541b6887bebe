"""Rasa's stores, tuned for live chat (endpoints.yml names them).

ThreadedSQLTrackerStore: Rasa's SQLTrackerStore does blocking SQL inside `async def`s, on the server's only
event loop: while it loads or saves one conversation (tens of ms for a long one), nothing else moves, not
even an agent's reply waiting to be relayed to another visitor's widget. Here those calls run in a worker
thread, and saving no longer loads the whole conversation a second time to find which events are new for
the event broker: they are the ones it is about to store.

PromptRedisLockStore: Rasa's Redis lock store reads a conversation's lock, adds a ticket and writes it back,
so two replicas can be handed the same ticket and both serve one conversation (RasaHQ/rasa#9213: measured, 302
of 900 tickets issued twice by six processes), and every waiter rewrites the lock each time it checks, losing
other replicas' tickets (one of two replicas got 17 turns against 1,355, with stalls of a lock lifetime). Here a
ticket is issued, taken and released by one Lua script each, so Redis does each step at once for every replica;
tickets are served in the order issued; a waiter never writes while it waits: the turn that ends publishes the
ticket now first in line (a replica hears it through one pattern subscription per process) and wakes the turns
of its own process at once; a slow poll (Rasa's wait_time_in_seconds, 1 s) is only a safety net. A ticket expires
the lock lifetime (Rasa's TICKET_LOCK_LIFETIME) after it was issued or after the one ahead of it expires, whichever
is later, and again a lifetime after it was served, so a
replica that died holding a conversation holds it one lifetime at most; a turn that waited so long that its own
ticket expired gets Rasa's LockError. Expiry uses Redis's clock, the same for every replica."""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Dict, Iterable, List, Optional, Tuple

import redis
import sqlalchemy as sa
from rasa.core.agent import Agent
from rasa.core.lock import Ticket
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore, TicketLock
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.logsafe import first_line
from bot.metrics import ERRORS, LOCK_WAIT_SECONDS
from bot.redis_clients import reconnecting
from bot.redis_keys import LOCK_DEADLINES, LOCK_QUEUE, LOCK_RELEASED, LOCK_TICKETS
from bot.settings import get_settings

logger = logging.getLogger(__name__)

LISTENER_RETRY_SECONDS = 1.0  # after the release announcements' subscription broke (Redis restarted)
UNSUBSCRIBED_POLL_SECONDS = 0.05  # how often a waiter looks while this process cannot hear announcements
DATABASE_RETRY_FIRST_DELAY = 0.25  # then doubled up to the longest, while the database is unreachable
DATABASE_RETRY_MAX_DELAY = 2.0


def _finish(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (the SQL store's methods block instead) to its result, in this thread."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the SQL tracker store suspended; it cannot run in a worker thread")


class TrackerStoreUnavailable(RuntimeError):
    """The database stayed unreachable for the whole retry time: the turn fails, loudly (the visitor is told)."""


CONNECTION_SQLSTATES = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect now; and class 08


def unreachable(err: Exception) -> bool:
    """The database is down or the connection broke (worth waiting for), as opposed to a bad statement, a timeout
    or a refused login, which PostgreSQL's driver reports as OperationalError too (told by their SQLSTATE)."""
    if isinstance(err, sa.exc.DBAPIError) and err.connection_invalidated:
        return True
    if not isinstance(err, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return False
    code = getattr(err.orig, "pgcode", None)  # None: no answer from a server at all (or not PostgreSQL)
    return code is None or code.startswith("08") or code in CONNECTION_SQLSTATES


def _no_fallback(store: Optional[TrackerStore], domain: Domain) -> TrackerStore:
    """Agent._create_tracker_store without Rasa's FailSafeTrackerStore, which on any error loads a conversation as
    new and saves it in memory: the visitor is answered with no history and the turn is forgotten."""
    if store is None:  # none configured (endpoints.yml): Rasa's default, kept in this process by choice
        return InMemoryTrackerStore(domain)
    store.domain = domain
    return store


def install() -> None:
    """In the Rasa process, before the agent is made: a tracker store error fails the turn (the channel tells the
    visitor) instead of falling back to memory."""
    Agent._create_tracker_store = staticmethod(_no_fallback)


class ThreadedSQLTrackerStore(SQLTrackerStore):
    """With the database unreachable (a restart, a failover), a load or save waits and tries again for up to
    DATABASE_RETRY_SECONDS, then raises TrackerStoreUnavailable; never a fallback to memory, which would answer
    the visitor and forget the conversation. A save is safe to repeat: it adds only the events not stored yet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_seconds = get_settings().database_retry_seconds

    def _retrying(self, what: str, call: Callable[..., Any], *args: Any) -> Any:
        """call(*args) in this (worker) thread, again while the database is unreachable, up to retry_seconds."""
        deadline = time.monotonic() + self.retry_seconds
        delay, failed = DATABASE_RETRY_FIRST_DELAY, 0
        while True:
            try:
                result = call(*args)
            except Exception as err:
                if not unreachable(err):
                    raise
                failed += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    ERRORS.labels("tracker_store", "unavailable").inc()
                    logger.error("tracker %s failed: database unreachable for %.1f s (%d tries): %s",
                                 what, self.retry_seconds, failed, first_line(err))
                    raise TrackerStoreUnavailable(f"the conversation store is unreachable ({what})") from err
                if failed == 1:
                    logger.warning("tracker %s: database unreachable, retrying for up to %.0f s: %s",
                                   what, self.retry_seconds, first_line(err))
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, DATABASE_RETRY_MAX_DELAY)
            else:
                if failed:
                    logger.warning("tracker %s done after the database came back (%d failed tries)", what, failed)
                return result

    def _run(self, what: str, method: Callable[..., Any], *args: Any) -> Any:
        return self._retrying(what, lambda: _finish(method(self, *args)))

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await asyncio.to_thread(self._run, "load", SQLTrackerStore.retrieve, sender_id)

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        return await asyncio.to_thread(self._run, "load", SQLTrackerStore.retrieve_full_tracker, conversation_id)

    async def keys(self) -> Iterable[str]:
        return await asyncio.to_thread(self._run, "keys", SQLTrackerStore.keys)

    async def save(self, tracker: DialogueStateTracker) -> None:
        stored = await asyncio.to_thread(self._retrying, "save", self._store, tracker)
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


# Each script gets KEYS[1] the conversation's queue (ticket -> its number), KEYS[2] its deadlines (ticket -> ms)
# and ARGV[1] its release channel. Tickets past their deadline leave both first, by Redis's clock; whenever the
# ticket first in line changes to one that did not just do it itself, it is announced on the channel.
_TICKET_QUEUE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function first() return redis.call('ZRANGE', KEYS[1], 0, 0)[1] end
local function prune()
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for _, ticket in ipairs(expired) do redis.call('ZREM', KEYS[1], ticket) end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
local function announce(before, caller)
  local head = first()
  if head and head ~= before and head ~= caller then redis.call('PUBLISH', ARGV[1], head) end
  return head
end
local function keep()  -- the keys live as long as their longest-lived ticket, and go with the last one
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]) + 1000)
    redis.call('PEXPIREAT', KEYS[2], tonumber(last[2]) + 1000)
  else
    redis.call('DEL', KEYS[1], KEYS[2])
  end
end
"""

# KEYS[3] the ticket counter; ARGV[2] the lifetime (ms). Returns {ticket, the ticket first in line}.
_ISSUE = _TICKET_QUEUE + """
local before = first()
prune()
local ticket = redis.call('INCR', KEYS[3])
-- its lifetime counts from when the one ahead of it expires at the latest, so a dead holder ahead is skipped
-- and this ticket still has its own lifetime to be served in
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2]
redis.call('ZADD', KEYS[1], ticket, ticket)
redis.call('ZADD', KEYS[2], math.max(now, tonumber(last or now)) + tonumber(ARGV[2]), ticket)
local head = announce(before, tostring(ticket))
keep()
return {ticket, tonumber(head)}
"""

# ARGV[2] the lifetime (ms), ARGV[3] the ticket. Returns {1, deadline (ms)} when the ticket is first in line (its
# lifetime starts again: it is served now), {-1, 0} when it expired, else {0, ms until the ticket first in line or
# this one expires}, the moment to look again if nobody announces anything.
_TAKE = _TICKET_QUEUE + """
local before = first()
prune()
local head = announce(before, ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then keep() return {-1, 0} end
if head == ARGV[3] then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
  keep()
  return {1, now + tonumber(ARGV[2])}
end
local soonest = math.min(tonumber(redis.call('ZSCORE', KEYS[2], head)), tonumber(redis.call('ZSCORE', KEYS[2], ARGV[3])))
keep()
return {0, soonest - now}
"""

# ARGV[2] the ticket. Returns the ticket first in line now, 0 when none is left.
_RELEASE = _TICKET_QUEUE + """
local before = first()
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
prune()
local head = announce(before, nil)
keep()
return tonumber(head) or 0
"""


class _ReleaseListener(threading.Thread):
    """Hears which ticket is first in line now, for every conversation, on one pattern subscription per store:
    a waiter then looks once, when it is its turn, instead of checking Redis again and again."""

    def __init__(self, client: redis.Redis, prefix: str, wake: Callable[[str, int], None]) -> None:
        super().__init__(daemon=True, name="lock-releases")
        pool = client.connection_pool  # its own connection, without a read timeout: it waits for messages
        kwargs = {**pool.connection_kwargs, "socket_timeout": None}
        self._client = redis.Redis(connection_pool=redis.ConnectionPool(pool.connection_class, **kwargs))
        self._channel_prefix = LOCK_RELEASED.format(prefix=prefix, conversation_id="")
        self._wake = wake
        self.ready = threading.Event()  # subscribed: a waiter can count on being told
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._listen()
            except (redis.RedisError, OSError) as error:
                self.ready.clear()
                logger.warning("lock release announcements unheard, retrying in %.0f s: %s",
                               LISTENER_RETRY_SECONDS, error)
                self._stopped.wait(LISTENER_RETRY_SECONDS)

    def _listen(self) -> None:
        pubsub = self._client.pubsub()
        try:
            pubsub.psubscribe(self._channel_prefix + "*")
            while not self._stopped.is_set():
                message = pubsub.get_message(timeout=1.0)  # a second at most, so stop() is heard
                if message is None:
                    continue
                if message["type"] == "psubscribe":
                    self.ready.set()
                elif message["type"] == "pmessage":
                    channel = message["channel"].decode()
                    self._wake(channel[len(self._channel_prefix):], int(message["data"]))
        finally:
            self.ready.clear()
            pubsub.close()

    def stop(self) -> None:
        self._stopped.set()


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class PromptRedisLockStore(RedisLockStore):
    """Rasa's lock store interface over atomic, first-come-first-served tickets (the module docstring says how).
    endpoints.yml may give `lock_lifetime` (seconds); else Rasa's TICKET_LOCK_LIFETIME (60 s by default)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        kwargs = dict(endpoint_config.kwargs)
        self.lifetime = float(kwargs.pop("lock_lifetime", None) or LOCK_LIFETIME)
        super().__init__(host=endpoint_config.url, **kwargs)
        self.red.connection_pool.connection_kwargs.update(reconnecting())  # Rasa made the client: rides out a restart
        prefix = kwargs.get("key_prefix")
        self._prefix = f"{prefix}:" if isinstance(prefix, str) and prefix.isalnum() else ""
        self._issue = self.red.register_script(_ISSUE)
        self._take = self.red.register_script(_TAKE)
        self._release = self.red.register_script(_RELEASE)
        self._waiting: Dict[Tuple[str, int], asyncio.Future] = {}  # (conversation, ticket) -> its waiting turn
        self._guard = threading.Lock()  # _waiting is also read by the listener's thread
        self._listener: Optional[_ReleaseListener] = None

    def _keys(self, conversation_id: str) -> Tuple[List[str], str]:
        names = {"prefix": self._prefix, "conversation_id": conversation_id}
        return [LOCK_QUEUE.format(**names), LOCK_DEADLINES.format(**names)], LOCK_RELEASED.format(**names)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket, last in line; never the same number twice (one script: Redis runs it all at once)."""
        return self._issued(conversation_id, lock_lifetime)[0]

    def _issued(self, conversation_id: str, lifetime: float) -> Tuple[int, int]:
        """(the new ticket, the ticket first in line)."""
        keys, channel = self._keys(conversation_id)
        try:
            ticket, head = self._issue(keys=[*keys, LOCK_TICKETS.format(prefix=self._prefix)],
                                       args=[channel, int(lifetime * 1000)])
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return int(ticket), int(head)

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: Optional[float] = None,
                   wait_time_in_seconds: float = 1) -> AsyncIterator[TicketLock]:
        """Rasa's `lock`: the conversation's turn for as long as the block runs. `wait_time_in_seconds` is only
        the safety net's poll: a waiter is told when its ticket is first in line."""
        lifetime = lock_lifetime or self.lifetime
        started = time.perf_counter()
        ticket, head = self._issued(conversation_id, lifetime)
        try:
            try:
                if head != ticket:
                    await self._wait_for_turn(conversation_id, ticket, lifetime, wait_time_in_seconds)
            finally:
                LOCK_WAIT_SECONDS.observe(time.perf_counter() - started)
            yield TicketLock(conversation_id, deque([Ticket(ticket, time.time() + lifetime)]))
        finally:
            self.cleanup(conversation_id, ticket)

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Rasa's, for anyone who calls it: wait until `ticket` is served."""
        await self._wait_for_turn(conversation_id, ticket, self.lifetime, wait_time_in_seconds)
        return TicketLock(conversation_id, deque([Ticket(ticket, time.time() + self.lifetime)]))

    async def _wait_for_turn(self, conversation_id: str, ticket: int, lifetime: float, poll: float) -> None:
        """Until `ticket` is first in line. Each look is one script, after this turn is listed as waiting, so an
        announcement that comes between the look and the wait still wakes it. LockError once it expired."""
        keys, channel = self._keys(conversation_id)
        listener = self._listening()
        while True:
            woken = self._expect(conversation_id, ticket)
            try:
                taken, ms = self._take(keys=keys, args=[channel, int(lifetime * 1000), ticket])
                if taken == 1:
                    return
                if taken == -1:
                    raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}': its ticket "
                                    f"expired after waiting {lifetime:.0f} s.")
                pause = min(poll, int(ms) / 1000 + 0.001)  # at the latest when the one ahead expires
                if not listener.ready.is_set():
                    pause = min(pause, UNSUBSCRIBED_POLL_SECONDS)
                await asyncio.wait_for(woken, pause)
            except asyncio.TimeoutError:
                pass
            finally:
                self._forget(conversation_id, ticket)

    def _listening(self) -> _ReleaseListener:
        with self._guard:
            if self._listener is None:
                self._listener = _ReleaseListener(self.red, self._prefix, self._wake)
                self._listener.start()
            return self._listener

    def _expect(self, conversation_id: str, ticket: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        with self._guard:
            self._waiting[(conversation_id, ticket)] = future
        return future

    def _forget(self, conversation_id: str, ticket: int) -> None:
        with self._guard:
            self._waiting.pop((conversation_id, ticket), None)

    def _wake(self, conversation_id: str, ticket: int) -> None:
        """`ticket` is first in line: wake its turn if it waits in this process (from any thread)."""
        with self._guard:
            future = self._waiting.get((conversation_id, ticket))
        if future is not None:
            future.get_loop().call_soon_threadsafe(_resolve, future)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Release the ticket (one script) and wake the next in line: at once when its turn waits here; the
        script's announcement wakes it on another replica."""
        keys, channel = self._keys(conversation_id)
        try:
            head = int(self._release(keys=keys, args=[channel, ticket_number]))
        except redis.RedisError as error:  # the turn is done; its ticket expires by itself
            logger.warning("could not release the lock of conversation %r: %s", conversation_id[:64], error)
            return
        if head:
            self._wake(conversation_id, head)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        """The conversation's tickets in the order served (a snapshot, for looking at; the scripts change them)."""
        (queue, deadlines), _ = self._keys(conversation_id)
        expires = {member: score / 1000 for member, score in self.red.zrange(deadlines, 0, -1, withscores=True)}
        tickets = [Ticket(int(member), expires[member]) for member in self.red.zrange(queue, 0, -1)
                   if member in expires]
        return TicketLock(conversation_id, deque(tickets)) if tickets else None

    def delete_lock(self, conversation_id: str) -> None:
        keys, _ = self._keys(conversation_id)
        self._log_deletion(conversation_id, bool(self.red.delete(*keys)))

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("tickets change only through issue_ticket, lock and cleanup (atomic scripts)")

    def update_lock(self, conversation_id: str) -> None:
        """Nothing to do: every script drops the expired tickets first."""

    def close(self) -> None:
        """Stop hearing announcements (the listener thread ends within a second)."""
        with self._guard:
            if self._listener is not None:
                self._listener.stop()
                self._listener = None
