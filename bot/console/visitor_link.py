"""Messages to a visitor's widget from outside the Rasa process: socket.io rooms through Redis."""
from __future__ import annotations

from typing import Any, Dict

from bot.channels import WIDGET_SOCKET_CHANNEL
from bot.redis_clients import RedisManager


class VisitorLink:
    """Emit to the visitor's socket.io room from outside the Rasa process."""

    def __init__(self, redis_url: str) -> None:
        self.manager = RedisManager(redis_url, channel=WIDGET_SOCKET_CHANNEL, write_only=True)

    async def emit(self, cid: str, event: str, data: Dict[str, Any]) -> None:
        await self.manager.emit(event, data, namespace="/", room=cid)

    async def agent_said(self, cid: str, text: str, name: str) -> None:
        await self.emit(cid, "bot_uttered", {"text": text, "agent": name})

    async def typing(self, cid: str, on: bool, name: str) -> None:
        await self.emit(cid, "typing", {"on": bool(on), "who": "agent", "name": name})

    async def status(self, cid: str, state: str, **data: Any) -> None:
        await self.emit(cid, "handoff", {"state": state, **data})
