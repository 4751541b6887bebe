"""The widget's abuse limits, counted in Redis so every replica enforces the same ones.

Per client address as well as per session: a new session (or a new connection) starts no fresh allowance.
Each check fails closed if Redis is down (LimitsUnavailable, logged and counted in bot.metrics.ERRORS): a limit
that cannot count would let a flood through at the moment the stores are weakest, and Rasa's lock store needs the
same Redis, so nothing could be answered then anyway. The channel tells the visitor to try again in a moment.
"""
from __future__ import annotations

import logging
from typing import Any

import redis.asyncio as aioredis

from bot import redis_keys as keys
from bot.metrics import ERRORS
from bot.redis_clients import async_client, pipelined
from bot.settings import Settings

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 10  # widget_rate and widget_address_rate count messages in this window
SESSION_WINDOW_SECONDS = 60  # widget_session_rate counts session requests in this window
CONNECTION_COUNT_TTL = 3600  # a crashed process cannot leave an address blocked for longer
SESSION_ADDRESS_TTL = 24 * 3600  # how long the order lookups can tell which address a session came from


class LimitsUnavailable(RuntimeError):
    """Redis did not answer, so the limit could not be checked: the frame or connection is refused."""


def unavailable(what: str, err: aioredis.RedisError) -> LimitsUnavailable:
    logger.warning("%s refused: its limit cannot be checked, Redis unavailable: %s", what, err)
    ERRORS.labels("widget", "limits_unavailable").inc()
    return LimitsUnavailable(f"{what}: the limit could not be checked ({err.__class__.__name__})")


class Limits:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = async_client(settings.redis.url(), socket_timeout=2)

    async def _count(self, key: str, window: int) -> int:
        """One more in the window that started with the key's first count (atomic: the window cannot be lost)."""
        def fill(pipe: Any) -> None:
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
        _, count = await pipelined(self.redis, fill, transaction=True)
        return int(count)

    async def allow_message(self, session_id: str, address: str) -> bool:
        try:
            in_session = await self._count(keys.WIDGET_SESSION_RATE.format(session_id=session_id), RATE_WINDOW_SECONDS)
            from_address = await self._count(keys.WIDGET_ADDRESS_RATE.format(address=address), RATE_WINDOW_SECONDS)
        except aioredis.RedisError as err:
            raise unavailable("a message", err) from err
        return in_session <= self.settings.widget_rate and from_address <= self.settings.widget_address_rate

    async def allow_session(self, address: str) -> bool:
        """Session requests per address: each new session would otherwise be a fresh start for a guesser."""
        try:
            count = await self._count(keys.WIDGET_SESSION_REQUESTS.format(address=address), SESSION_WINDOW_SECONDS)
        except aioredis.RedisError as err:
            raise unavailable("a session request", err) from err
        return count <= self.settings.widget_session_rate

    async def remember_address(self, session_id: str, address: str) -> None:
        """Where the session came from, for the order lookups' per-address count (bot.orders.attempts): from
        Redis, which only the channel writes, not from message metadata, which a client could fill in."""
        try:
            await self.redis.set(keys.WIDGET_SESSION_ADDRESS.format(session_id=session_id), address,
                                 ex=SESSION_ADDRESS_TTL)
        except aioredis.RedisError as err:
            logger.warning("address of a session not kept, Redis unavailable: %s", err)

    async def open_connection(self, address: str) -> bool:
        key = keys.WIDGET_CONNECTIONS.format(address=address)
        try:
            count = await self.redis.incr(key)
            await self.redis.expire(key, CONNECTION_COUNT_TTL)
            if count > self.settings.widget_max_connections_per_ip:
                await self.redis.decr(key)
                return False
            return True
        except aioredis.RedisError as err:
            raise unavailable("a connection", err) from err

    async def close_connection(self, address: str) -> None:
        try:
            await self.redis.decr(keys.WIDGET_CONNECTIONS.format(address=address))
        except aioredis.RedisError:
            pass
