"""Failed order lookups (a number and an email that do not match), counted in Redis per conversation, per client
address, per email and per order number, each within ORDER_LOOKUP_WINDOW_SECONDS.

The count used to be a slot, which "/restart" or a new conversation set back to zero, and order numbers are
sequential: a known email needed at most a thousand guesses. Counted here, neither resets it, and guessing one
email's orders (or one order's email) is capped whatever the conversation or address. The client address is the
one the widget recorded for the conversation (bot.channels.limits, from the connection, never from metadata a
client could fill in); conversations from elsewhere are counted per conversation, email and number.

If Redis is down the checks pass (logged): the conversation's own slot still caps it (actions.base).
"""
from __future__ import annotations

import functools
import hashlib
import logging
from typing import Any, Dict, Optional

import redis

from bot import redis_keys as keys
from bot.redis_clients import pipelined_sync, reconnecting
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def _hashed(value: str) -> str:
    """Bounded and free of personal data (an email), so a key can be neither long nor read back."""
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


class LookupAttempts:
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.redis = client
        self.settings = settings

    def _counters(self, conversation: str, email: Optional[str] = None, number: Optional[str] = None,
                  by_address: bool = True) -> Dict[str, int]:
        """Each counter's key with its cap."""
        s = self.settings
        counters = {self._key("conversation", conversation): s.order_lookup_max_failures}
        if by_address:
            address = self.redis.get(keys.WIDGET_SESSION_ADDRESS.format(session_id=conversation))
            if address:
                counters[self._key("address", address.decode("utf-8", "replace"))] = s.order_lookup_max_failures_per_address
        if email:
            counters[self._key("email", email.strip().lower())] = s.order_lookup_max_failures_per_email_or_order
        if number:
            counters[self._key("order", number.strip().lstrip("#"))] = s.order_lookup_max_failures_per_email_or_order
        return counters

    @staticmethod
    def _key(kind: str, value: str) -> str:
        return keys.LOOKUP_FAILURES.format(kind=kind, value=_hashed(value))

    def blocked(self, conversation: str, email: Optional[str] = None, number: Optional[str] = None,
                by_address: bool = True) -> bool:
        """Whether any of the counters that apply has reached its cap."""
        try:
            counters = self._counters(conversation, email, number, by_address)
            counts = self.redis.mget(list(counters))
        except redis.RedisError as err:
            logger.warning("failed lookups not checked, Redis unavailable: %s", err)
            return False
        return any(int(count or 0) >= cap for count, cap in zip(counts, counters.values(), strict=True))

    def failed(self, conversation: str, email: Optional[str] = None, number: Optional[str] = None) -> Optional[int]:
        """Count one failure on every counter that applies; the conversation's count so far (None without Redis)."""
        try:
            counters = list(self._counters(conversation, email, number))
            def fill(pipe: Any) -> None:
                for key in counters:  # the window starts with a counter's first failure
                    pipe.set(key, 0, ex=self.settings.order_lookup_window_seconds, nx=True)
                    pipe.incr(key)
            results = pipelined_sync(self.redis, fill, transaction=True)
        except redis.RedisError as err:
            logger.warning("failed lookup not counted, Redis unavailable: %s", err)
            return None
        return int(results[1])


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **reconnecting(socket_timeout=2))


def attempts() -> LookupAttempts:
    """The counts in the configured Redis (one connection pool per Redis, made on first use)."""
    settings = get_settings()
    return LookupAttempts(_client(settings.redis.url()), settings)
