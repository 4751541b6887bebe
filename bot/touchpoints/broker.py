"""The Rasa event broker (endpoints.yml `event_broker: type: bot.touchpoints.broker.TouchpointBroker`):
every tracker event becomes touchpoint rows, buffered and written off the hot path."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.logsafe import loggable
from bot.settings import get_settings
from bot.touchpoints.events import TouchpointMapper
from bot.touchpoints.writer import TouchpointWriter

logger = logging.getLogger(__name__)
_current: Optional[TouchpointBroker] = None


class TouchpointBroker(EventBroker):
    def __init__(self, url: str, identity_secret: str) -> None:
        self.writer = TouchpointWriter(url, spill=get_settings().var_dir / "touchpoints-pending.jsonl")
        self.mapper = TouchpointMapper(identity_secret)

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig,
                                   event_loop: Optional[asyncio.AbstractEventLoop] = None) -> TouchpointBroker:
        global _current
        settings = get_settings()
        broker = cls(settings.touchpoints_url, settings.identity_secret)
        broker.writer.start()  # the flush loop, on Rasa's event loop (this is called from it)
        _current = broker
        return broker

    def publish(self, event: Dict[str, Any]) -> None:
        try:
            self.writer.add(self.mapper.rows(event))
        except Exception:  # a logging problem must never break the conversation
            logger.exception("touchpoint for %s not recorded", loggable(event.get("sender_id")))

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        await self.writer.close()


def record(row: Dict[str, Any]) -> None:
    """For other code in the Rasa process (the widget channel): add a ready-made row."""
    if _current is not None:
        _current.writer.add([row])
