"""An agent's presence as the console keeps it, on the queue's Redis: the status the agent chose, the heartbeat
that keeps it alive while one of their console tabs streams events, and how many tabs do (the last one to close
takes them offline). Any Redis error comes out as QueueUnavailable."""
from __future__ import annotations

from typing import Tuple

from bot import redis_keys as keys
from bot.handoff.queue import Agent, HandoffQueue, presence_key, raises_queue_unavailable

DEFAULT_STATUS = "available"
STREAMS_TTL = 24 * 3600  # a count a crashed process never decremented goes away by itself


def wanted_key(agent_id: str) -> str:
    return keys.CONSOLE_WANTED_STATUS.format(agent_id=agent_id)


def streams_key(agent_id: str) -> str:
    return keys.CONSOLE_STREAMS.format(agent_id=agent_id)


@raises_queue_unavailable
class AgentPresence:
    def __init__(self, queue: HandoffQueue) -> None:
        self.queue, self.redis = queue, queue.redis

    async def choose(self, agent: Agent, status: str) -> None:
        """The agent says they are available or away: kept for their next heartbeats, in effect now, told to all."""
        await self.queue.register_agent(agent)
        await self.redis.set(wanted_key(agent.id), status)
        await self.queue.heartbeat(agent.id, status)
        await self.queue.publish("presence", "", agent_id=agent.id, status=status)

    async def beat(self, agent_id: str) -> Tuple[str, bool]:
        """A heartbeat with the status the agent chose: (that status, whether their presence said otherwise before)."""
        status = await self.redis.get(wanted_key(agent_id)) or DEFAULT_STATUS
        was = await self.redis.get(presence_key(agent_id))
        await self.queue.heartbeat(agent_id, status)
        return status, was != status

    async def stream_opened(self, agent_id: str) -> None:
        await self.redis.incr(streams_key(agent_id))
        await self.redis.expire(streams_key(agent_id), STREAMS_TTL)

    async def stream_closed(self, agent_id: str) -> None:
        """One of the agent's streams ended; with it the last, the agent goes offline."""
        if await self.redis.decr(streams_key(agent_id)) <= 0:
            await self.redis.delete(streams_key(agent_id))
            await self.queue.offline(agent_id)
