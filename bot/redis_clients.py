"""Redis clients that ride out a Redis restart (a deploy, a failover, compose's restart policy).

After a restart every pooled connection is dead, and redis-py reports each one's next command as an error: without
this, for minutes after Redis came back, visitors were refused ("unavailable") whenever a request drew a dead
connection from a pool. Here a command that finds its connection closed reconnects and is sent once more (no wait:
a dead connection is not a down server), and so is a pipeline or transaction sent through `pipelined` (redis-py
retries those only on timeouts); if Redis is really down, it fails as before and the caller degrades. (Pinging
idle connections before use, redis-py's health_check_interval, would cover pipelines too, but measured 15% more
Rasa CPU per answer under load: at human pace most pooled connections are idle for a second.)

The widget's socket.io listener (RedisManager) also re-subscribes quickly (python-socketio waits 1 s, then 2, 4...
up to 60 s; here 0.1 s, doubling up to 2 s), and then calls `on_resubscribed`: a live event published while it
was not subscribed reached no widget (pub/sub keeps nothing), so the widget channel sends each of its visitors
the conversation again (bot.channels.widget resync), a second after, when the writes of that window have landed."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional

import redis
import redis.asyncio as aioredis
import socketio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RESUBSCRIBE_FIRST_DELAY = 0.1
RESUBSCRIBE_MAX_DELAY = 2.0
RESYNC_DELAY = 1.0  # after re-subscribing: what was written while the listener was away has landed by then


def reconnecting(**options: Any) -> Dict[str, Any]:
    """Client options (sync or asyncio redis-py): a command that found its connection closed is sent again, once."""
    return {**options, "retry_on_error": [RedisConnectionError]}


def async_client(url: str, **options: Any) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, **reconnecting(**options))


async def pipelined(client: aioredis.Redis, fill: Callable[[Any], None], transaction: bool = False) -> List[Any]:
    """The replies of the commands `fill` queues on a pipeline (MULTI/EXEC with `transaction`), sent again once if
    the connection was found closed."""
    for attempt in (1, 2):
        try:
            async with client.pipeline(transaction=transaction) as pipe:
                fill(pipe)
                return await pipe.execute()
        except RedisConnectionError:
            if attempt == 2:
                raise
    raise AssertionError("not reached")


def pipelined_sync(client: redis.Redis, fill: Callable[[Any], None], transaction: bool = False) -> List[Any]:
    """pipelined() for the synchronous client."""
    for attempt in (1, 2):
        try:
            with client.pipeline(transaction=transaction) as pipe:
                fill(pipe)
                return pipe.execute()
        except RedisConnectionError:
            if attempt == 2:
                raise
    raise AssertionError("not reached")


class RedisManager(socketio.AsyncRedisManager):
    """socket.io's Redis manager with reconnecting clients and a quick re-subscription (the module says why)."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, redis_options=reconnecting(), **kwargs)
        self.on_resubscribed: Optional[Callable[[], Awaitable[None]]] = None

    async def _resynced(self) -> None:
        await asyncio.sleep(RESYNC_DELAY)
        try:
            if self.on_resubscribed:
                await self.on_resubscribed()
        except Exception:  # a visitor may still see a gap until reload; the listener goes on
            logger.exception("resync after re-subscribing to Redis failed")

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:  # python-socketio 5.11's, with our delays
        delay, connect = RESUBSCRIBE_FIRST_DELAY, False
        while True:
            try:
                if connect:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    logger.warning("socket.io re-subscribed to Redis; resyncing this process's visitors")
                    delay, connect = RESUBSCRIBE_FIRST_DELAY, False
                    asyncio.get_running_loop().create_task(self._resynced())
                async for message in self.pubsub.listen():
                    yield message
            except RedisError as err:
                logger.error("socket.io cannot receive from Redis (%s), retrying in %.1f s", err, delay)
                connect = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESUBSCRIBE_MAX_DELAY)
