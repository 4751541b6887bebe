"""The agent queue, in Redis: the source of truth for who waits, who is served and by whom.

- Durable: everything is Redis data (AOF on in compose and in the embedded Redis), nothing in
  process memory, so any process can restart without losing a waiting visitor.
- Atomic: claim, transfer, hand back and expiry are Lua scripts that check the state and change it
  in one step, so with any number of agents clicking at once exactly one wins.
- Priority: a waiting conversation's score is the time it joined, minus a head start for
  frustration and customer value; lower goes first. Equal head starts are FIFO, and a long wait
  always wins in the end because the head starts are bounded.
- Presence: an agent is online while their heartbeat key lives (TTL); the console refreshes it while
  the agent's tab is connected and deletes it when the tab goes.

Every change is published on `handoff:events` for consoles and the visitor notifier. The keys are named in
bot.redis_keys; any Redis error comes out as QueueUnavailable.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, TypeVar

import redis.asyncio as aioredis

from bot import redis_keys as keys
from bot.redis_clients import async_client, pipelined

logger = logging.getLogger(__name__)

DEFAULT_FRUSTRATION_HEAD_START = 600.0  # seconds ahead in the queue for frustration 1.0
DEFAULT_VALUE_HEAD_START = 300.0  # seconds ahead for the most valuable customers
DEFAULT_HANDLING_SECONDS = 300.0  # assumed until agents have handled conversations
DEFAULT_PICKUP_SECONDS = 30.0  # time for a free agent to pick a conversation up
DEFAULT_PRESENCE_TTL = 30
CLOSED_TTL = 7 * 24 * 3600  # closed handoffs stay readable (transcript context) for a week
CLAIM_PAGE = 20  # waiting conversations read at a time by claim_next
HANDLED_SAMPLES = 50
WAITING_STATES = ("waiting", "active")

# KEYS: waiting, conv   ARGV: cid, score, field, value, ...
_ENQUEUE = """
local status = redis.call('HGET', KEYS[2], 'status')
if status == 'waiting' or status == 'active' then return status end
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 'queued'
"""
# KEYS: waiting, conv, agent chats   ARGV: cid, agent id, agent name, now, max chats
_CLAIM = """
local status = redis.call('HGET', KEYS[2], 'status')
if not status or (status ~= 'waiting' and status ~= 'active') then return 'gone' end
if status == 'active' then return 'taken' end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[5]) then return 'full' end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'status', 'active', 'agent_id', ARGV[2], 'agent_name', ARGV[3], 'claimed_at', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
return 'claimed'
"""
# KEYS: conv, from chats, to chats   ARGV: cid, from id, to id, to name, to max chats
_TRANSFER_AGENT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'active' or redis.call('HGET', KEYS[1], 'agent_id') ~= ARGV[2] then
  return 'not_yours' end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[5]) then return 'full' end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'agent_id', ARGV[3], 'agent_name', ARGV[4])
return 'transferred'
"""
# KEYS: conv, from chats, waiting   ARGV: cid, from id, team, score
_TRANSFER_TEAM = """
if redis.call('HGET', KEYS[1], 'status') ~= 'active' or redis.call('HGET', KEYS[1], 'agent_id') ~= ARGV[2] then
  return 'not_yours' end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'waiting', 'team', ARGV[3], 'agent_id', '', 'agent_name', '')
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 'requeued'
"""
# KEYS: conv, agent chats   ARGV: cid, agent id, now, summary, ttl
_HAND_BACK = """
if redis.call('HGET', KEYS[1], 'status') ~= 'active' or redis.call('HGET', KEYS[1], 'agent_id') ~= ARGV[2] then
  return false end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'closed', 'closed_at', ARGV[3], 'summary', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return redis.call('HGET', KEYS[1], 'claimed_at')
"""
# KEYS: waiting, conv   ARGV: cid, new status, now, ttl
_LEAVE = """
if redis.call('HGET', KEYS[2], 'status') ~= 'waiting' then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'status', ARGV[2], 'closed_at', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""


def conv_key(cid: str) -> str:
    return keys.HANDOFF_CONVERSATION.format(conversation_id=cid)


def chats_key(agent_id: str) -> str:
    return keys.HANDOFF_CHATS.format(agent_id=agent_id)


def presence_key(agent_id: str) -> str:
    return keys.HANDOFF_PRESENCE.format(agent_id=agent_id)


def agent_key(agent_id: str) -> str:
    return keys.HANDOFF_AGENT.format(agent_id=agent_id)


@dataclass
class Handoff:
    conversation_id: str
    reason: str = "requested"  # requested | repeated_miss | frustration | ...
    intent: str = ""
    team: str = "general"
    frustration: float = 0.0
    signals: List[Dict[str, Any]] = field(default_factory=list)
    customer_id: str = ""
    customer_verified: bool = False
    customer_value: float = 0.0  # 0..1
    channel: str = ""
    enqueued_at: float = 0.0
    status: str = "waiting"  # waiting | active | closed | expired | left
    agent_id: str = ""
    agent_name: str = ""
    claimed_at: float = 0.0
    first_response_at: float = 0.0
    closed_at: float = 0.0
    summary: str = ""

    def to_redis(self) -> Dict[str, str]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = json.dumps(value) if isinstance(value, (list, bool)) else str(value)
        return out

    @classmethod
    def from_redis(cls, raw: Dict[str, str]) -> Handoff:
        kwargs: Dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in raw:
                continue
            value = raw[f.name]
            if f.type in ("float",):
                kwargs[f.name] = float(value or 0)
            elif f.type in ("bool", "List[Dict[str, Any]]"):
                kwargs[f.name] = json.loads(value or "null") or (False if f.type == "bool" else [])
            else:
                kwargs[f.name] = value
        return cls(**kwargs)

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Agent:
    id: str
    name: str
    teams: List[str] = field(default_factory=list)  # empty: every team
    max_chats: int = 3
    status: str = "offline"  # available | away | offline
    chats: int = 0

    @property
    def free(self) -> int:
        return max(0, self.max_chats - self.chats) if self.status == "available" else 0

    def serves(self, team: str) -> bool:
        return not self.teams or team in self.teams or team == "general"


@dataclass
class Placement:
    status: str  # queued | waiting | active
    position: Optional[int]  # 1-based, None when not waiting
    eta_seconds: Optional[float]


class QueueUnavailable(RuntimeError):
    """Redis, which holds the queue, did not answer. Callers catch this, never redis' own errors."""


def unavailable(err: aioredis.RedisError) -> QueueUnavailable:
    return QueueUnavailable(f"the handoff queue is unavailable ({err.__class__.__name__}: {err})")


Wrapped = TypeVar("Wrapped", bound=type)


def raises_queue_unavailable(cls: Wrapped) -> Wrapped:
    """Every public coroutine of the class turns a Redis error into QueueUnavailable (cause kept): the queue, and
    the helpers on its Redis (presence, the watcher's lease, console sessions)."""
    def wrap(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(fn)
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except aioredis.RedisError as err:
                raise unavailable(err) from err
        return call

    for name, fn in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(fn):
            setattr(cls, name, wrap(fn))
    return cls


class EventStream:
    """The queue's events as they are published, for one subscriber (a console tab's live stream)."""

    def __init__(self, pubsub: Any) -> None:
        self.pubsub = pubsub

    async def next(self, timeout: float) -> Optional[str]:
        """The next event's JSON, or None when none came within `timeout` seconds."""
        try:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        except aioredis.RedisError as err:
            raise unavailable(err) from err
        return None if message is None else message["data"]


@raises_queue_unavailable
class HandoffQueue:
    def __init__(self, redis: aioredis.Redis, *, frustration_head_start: float = DEFAULT_FRUSTRATION_HEAD_START,
                 value_head_start: float = DEFAULT_VALUE_HEAD_START, presence_ttl: int = DEFAULT_PRESENCE_TTL) -> None:
        self.redis = redis
        self.frustration_head_start = frustration_head_start
        self.value_head_start = value_head_start
        self.presence_ttl = presence_ttl
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._transfer_agent = redis.register_script(_TRANSFER_AGENT)
        self._transfer_team = redis.register_script(_TRANSFER_TEAM)
        self._hand_back = redis.register_script(_HAND_BACK)
        self._leave = redis.register_script(_LEAVE)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> HandoffQueue:
        return cls(async_client(url, decode_responses=True, socket_timeout=5), **kwargs)

    async def close(self) -> None:
        await self.redis.close()

    def score(self, handoff: Handoff) -> float:
        head_start = (self.frustration_head_start * min(1.0, max(0.0, handoff.frustration))
                      + self.value_head_start * min(1.0, max(0.0, handoff.customer_value)))
        return handoff.enqueued_at - head_start

    async def publish(self, kind: str, conversation_id: str, **data: Any) -> None:
        event = {"type": kind, "conversation_id": conversation_id, "at": time.time(), **data}
        await self.redis.publish(keys.HANDOFF_EVENTS, json.dumps(event, default=str))

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[EventStream]:
        """Subscribed to the queue's events while the block runs (what is published from then on is received)."""
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(keys.HANDOFF_EVENTS)
            yield EventStream(pubsub)
        except aioredis.RedisError as err:
            raise unavailable(err) from err
        finally:
            await _unsubscribe(pubsub)

    # --- visitors -------------------------------------------------------------------------
    async def enqueue(self, handoff: Handoff) -> Placement:
        """Put a conversation in the queue; asking again while waiting or served changes nothing."""
        handoff.enqueued_at = handoff.enqueued_at or time.time()
        handoff.status = "waiting"
        flat: List[str] = []
        for key, value in handoff.to_redis().items():
            flat += [key, value]
        result = await self._enqueue(keys=[keys.HANDOFF_WAITING, conv_key(handoff.conversation_id)],
                                     args=[handoff.conversation_id, self.score(handoff), *flat])
        if result == "queued":
            await self.publish("queued", handoff.conversation_id, reason=handoff.reason)
        return await self.placement(handoff.conversation_id, result)

    async def placement(self, cid: str, status: Optional[str] = None) -> Placement:
        status = status or (await self.redis.hget(conv_key(cid), "status") or "")
        rank = await self.redis.zrank(keys.HANDOFF_WAITING, cid)
        if rank is None:
            return Placement(status, None, None)
        return Placement(status, rank + 1, estimate_wait(rank, await self.agents(), await self.handling_seconds()))

    async def get(self, cid: str) -> Optional[Handoff]:
        raw = await self.redis.hgetall(conv_key(cid))
        return Handoff.from_redis(raw) if raw else None

    async def status(self, cid: str) -> str:
        return await self.redis.hget(conv_key(cid), "status") or ""

    async def in_handoff(self, cid: str) -> bool:
        return await self.status(cid) in WAITING_STATES

    async def waiting(self) -> List[Handoff]:
        cids = await self.redis.zrange(keys.HANDOFF_WAITING, 0, -1)
        return await self._many(cids)

    async def _many(self, cids: List[str]) -> List[Handoff]:
        if not cids:
            return []
        def fill(pipe: Any) -> None:
            for cid in cids:
                pipe.hgetall(conv_key(cid))
        raws = await pipelined(self.redis, fill)
        return [Handoff.from_redis(raw) for raw in raws if raw]

    async def leave(self, cid: str, status: str = "left") -> bool:
        """A waiting visitor leaves (or waited too long: status 'expired'). False if not waiting."""
        left = await self._leave(keys=[keys.HANDOFF_WAITING, conv_key(cid)], args=[cid, status, time.time(), CLOSED_TTL])
        if left:
            await self.publish(status, cid)
        return bool(left)

    # --- agents ---------------------------------------------------------------------------
    async def register_agent(self, agent: Agent) -> None:
        await self.redis.sadd(keys.HANDOFF_AGENTS, agent.id)
        await self.redis.hset(agent_key(agent.id), mapping={
            "name": agent.name, "teams": ",".join(agent.teams), "max_chats": agent.max_chats})

    async def heartbeat(self, agent_id: str, status: str = "available") -> None:
        await self.redis.set(presence_key(agent_id), status, ex=self.presence_ttl)

    async def offline(self, agent_id: str) -> None:
        await self.redis.delete(presence_key(agent_id))
        await self.publish("presence", "", agent_id=agent_id, status="offline")

    async def agents(self) -> List[Agent]:
        ids = sorted(await self.redis.smembers(keys.HANDOFF_AGENTS))
        if not ids:
            return []
        def fill(pipe: Any) -> None:
            for agent_id in ids:
                pipe.hgetall(agent_key(agent_id))
                pipe.get(presence_key(agent_id))
                pipe.scard(chats_key(agent_id))
        rows = await pipelined(self.redis, fill)
        out = []
        for i, agent_id in enumerate(ids):
            info, presence, chats = rows[3 * i: 3 * i + 3]
            out.append(Agent(agent_id, info.get("name", agent_id), [t for t in info.get("teams", "").split(",") if t],
                             int(info.get("max_chats") or 3), presence or "offline", int(chats)))
        return out

    async def agent(self, agent_id: str) -> Optional[Agent]:
        return next((a for a in await self.agents() if a.id == agent_id), None)

    async def chats(self, agent_id: str) -> List[Handoff]:
        return await self._many(sorted(await self.redis.smembers(chats_key(agent_id))))

    async def claim(self, cid: str, agent: Agent) -> str:
        """'claimed' for exactly one caller; otherwise 'taken', 'full' (agent at their limit) or 'gone'."""
        result = await self._claim(keys=[keys.HANDOFF_WAITING, conv_key(cid), chats_key(agent.id)],
                                   args=[cid, agent.id, agent.name, time.time(), agent.max_chats])
        if result == "claimed":
            await self.publish("claimed", cid, agent_id=agent.id, agent_name=agent.name)
        return result

    async def claim_next(self, agent: Agent) -> Optional[Handoff]:
        """The highest-priority waiting conversation of a team this agent serves, claimed for them.

        Reads the queue a page at a time (the head is what gets claimed; reading all of a long queue on every
        click made racing agents slow). Others claiming meanwhile shift the ranks, so a pass that lost a race
        and found nothing looks once more from the top."""
        for _ in range(2):
            lost, start = False, 0
            while cids := await self.redis.zrange(keys.HANDOFF_WAITING, start, start + CLAIM_PAGE - 1):
                for handoff in await self._many(cids):
                    if not agent.serves(handoff.team):
                        continue
                    result = await self.claim(handoff.conversation_id, agent)
                    if result == "claimed":
                        return await self.get(handoff.conversation_id)
                    if result == "full":
                        return None
                    lost = True
                start += CLAIM_PAGE
            if not lost:
                return None
        return None

    async def mark_first_response(self, cid: str) -> None:
        key = conv_key(cid)
        if await self.redis.hget(key, "first_response_at") in (None, "", "0.0", "0"):
            await self.redis.hset(key, "first_response_at", time.time())

    async def transfer_to_agent(self, cid: str, from_id: str, to: Agent) -> str:
        result = await self._transfer_agent(keys=[conv_key(cid), chats_key(from_id), chats_key(to.id)],
                                            args=[cid, from_id, to.id, to.name, to.max_chats])
        if result == "transferred":
            await self.publish("transferred", cid, from_agent=from_id, agent_id=to.id, agent_name=to.name)
        return result

    async def transfer_to_team(self, cid: str, from_id: str, team: str) -> str:
        handoff = await self.get(cid)
        if handoff is None:
            return "not_yours"
        result = await self._transfer_team(keys=[conv_key(cid), chats_key(from_id), keys.HANDOFF_WAITING],
                                           args=[cid, from_id, team, self.score(handoff)])
        if result == "requeued":
            await self.publish("transferred", cid, from_agent=from_id, team=team)
        return result

    async def hand_back(self, cid: str, agent_id: str, summary: str = "") -> bool:
        now = time.time()
        claimed_at = await self._hand_back(keys=[conv_key(cid), chats_key(agent_id)],
                                           args=[cid, agent_id, now, summary[:2000], CLOSED_TTL])
        if claimed_at is None:
            return False
        def fill(pipe: Any) -> None:
            pipe.lpush(keys.HANDOFF_HANDLED, round(now - float(claimed_at or now), 1))
            pipe.ltrim(keys.HANDOFF_HANDLED, 0, HANDLED_SAMPLES - 1)
        await pipelined(self.redis, fill)
        await self.publish("handed_back", cid, agent_id=agent_id)
        return True

    async def handling_seconds(self) -> float:
        samples = [float(s) for s in await self.redis.lrange(keys.HANDOFF_HANDLED, 0, -1)]
        return sum(samples) / len(samples) if samples else DEFAULT_HANDLING_SECONDS

    async def has_handled(self) -> bool:
        """Whether any hand-back was measured yet (before that, handling_seconds is a guess)."""
        return bool(await self.redis.llen(keys.HANDOFF_HANDLED))

    async def clear(self) -> None:
        """Everything under the prefix (tests and `reset` only)."""
        found = [k async for k in self.redis.scan_iter(match=keys.HANDOFF_PREFIX + "*")]
        if found:
            await self.redis.delete(*found)


async def _unsubscribe(pubsub: Any) -> None:
    try:
        await pubsub.unsubscribe(keys.HANDOFF_EVENTS)
        await pubsub.close()
    except aioredis.RedisError as err:
        raise unavailable(err) from err


def estimate_wait(rank: int, agents: List[Agent], handling_seconds: float) -> Optional[float]:
    """Seconds until the conversation at 0-based `rank` is picked up; None when nobody is available.

    Free seats are taken at pickup speed; beyond them, seats free up at the rate the available
    agents finish conversations (their total seats over the recent average handling time)."""
    available = [a for a in agents if a.status == "available"]
    if not available:
        return None
    free = sum(a.free for a in available)
    if rank < free:
        return DEFAULT_PICKUP_SECONDS
    seats = sum(a.max_chats for a in available) or 1
    return DEFAULT_PICKUP_SECONDS + math.ceil(rank - free + 1) * handling_seconds / seats
