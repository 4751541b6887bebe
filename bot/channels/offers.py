"""The buttons the bot offered in each widget conversation, kept in Redis (any replica may get the click).

Two things rest on this record: a "/intent" payload is a command only if the bot offered it (anything else the
visitor sends is text, so typing "/restart" cannot reset a conversation), and the text agents see for a click is
the title of the button the bot showed, never a `display_text` the client made up.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, Mapping, Optional, Union, cast

import redis.asyncio as aioredis

from bot import redis_keys as keys
from bot.redis_clients import pipelined

logger = logging.getLogger(__name__)

OFFER_TTL_SECONDS = 24 * 3600  # renewed with every button the bot sends; a day-old page gets fresh buttons anyway
MAX_PAYLOAD_CHARS = 1000  # the domain's payloads are short; a longer "payload" is only looked up, never stored


class OfferedPayloads:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def record(self, session_id: str, buttons: Iterable[Dict[str, Any]]) -> None:
        offered = {str(b["payload"]).strip(): str(b.get("title") or "") for b in buttons if b.get("payload")}
        offered = {p: t for p, t in offered.items() if len(p) <= MAX_PAYLOAD_CHARS}
        if not offered:
            return
        key = keys.WIDGET_OFFERED.format(session_id=session_id)
        try:
            def fill(pipe: Any) -> None:
                # redis' stubs take Mapping[str | bytes, ...], whose key type is invariant: a str-keyed dict is one
                pipe.hset(key, mapping=cast(Mapping[Union[str, bytes], str], offered))
                pipe.expire(key, OFFER_TTL_SECONDS)
            await pipelined(self.redis, fill, transaction=True)
        except aioredis.RedisError as err:  # the click will then be read as text: degraded, not broken
            logger.warning("buttons offered in %r not recorded, Redis unavailable: %s", session_id, err)

    async def title(self, session_id: str, text: str) -> Optional[str]:
        """The title of the button whose payload this text is, if the bot offered it in this conversation."""
        payload = text.strip()
        if not payload or len(payload) > MAX_PAYLOAD_CHARS:
            return None
        try:
            found = await self.redis.hget(keys.WIDGET_OFFERED.format(session_id=session_id), payload)
        except aioredis.RedisError as err:
            logger.warning("offered buttons of %r unknown, Redis unavailable: %s", session_id, err)
            return None
        return found.decode("utf-8", "replace") if found is not None else None
