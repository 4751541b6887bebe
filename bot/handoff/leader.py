"""Which of several console processes acts for all of them (the handoff watcher): the one holding a short lease
in the queue's Redis, renewed while it keeps acting. Any Redis error comes out as QueueUnavailable."""
from __future__ import annotations

from bot import redis_keys as keys
from bot.handoff.queue import HandoffQueue, raises_queue_unavailable


@raises_queue_unavailable
class Lease:
    def __init__(self, queue: HandoffQueue, holder: str, ttl: int, key: str = keys.HANDOFF_WATCHER) -> None:
        self.redis, self.holder, self.ttl, self.key = queue.redis, holder, ttl, key

    async def hold(self) -> bool:
        """Take the lease if nobody holds it, or renew it if we do; False while another holder has it."""
        if await self.redis.set(self.key, self.holder, nx=True, ex=self.ttl):
            return True
        if await self.redis.get(self.key) == self.holder:
            await self.redis.expire(self.key, self.ttl)
            return True
        return False
