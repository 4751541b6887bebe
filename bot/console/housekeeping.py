"""The console's upkeep of stored data, in the background: visitors' erasure requests carried out every few
seconds, and touchpoints older than the retention period dropped at start and every few hours."""
from __future__ import annotations

import asyncio
import logging
import time

from bot.settings import Settings
from bot.touchpoints.privacy import erase_due, purge_older_than

logger = logging.getLogger(__name__)

RETENTION_EVERY_SECONDS = 6 * 3600
ERASURES_EVERY_SECONDS = 5.0


async def housekeeping(settings: Settings) -> None:
    """Carry out visitors' erasure requests every few seconds; drop touchpoints older than the retention
    period at start and every few hours."""
    purged_at = complained_at = -float(RETENTION_EVERY_SECONDS)
    while True:
        try:
            for removed in await asyncio.to_thread(erase_due, settings.sql_url, settings.touchpoints_url,
                                                   settings.erasure_delay_seconds):
                logger.info("erasure request carried out: %s", removed)
        except Exception:  # the database is down: the requests wait; say so once a minute, not every 5 s
            if time.monotonic() - complained_at >= 60:
                complained_at = time.monotonic()
                logger.exception("erasure requests not carried out yet; will try again")
        if time.monotonic() - purged_at >= RETENTION_EVERY_SECONDS:
            try:
                await asyncio.to_thread(purge_older_than, settings.touchpoints_url, settings.touchpoint_retention_days)
                purged_at = time.monotonic()
            except Exception:
                logger.exception("touchpoint retention failed; will try again")
        await asyncio.sleep(ERASURES_EVERY_SECONDS)
