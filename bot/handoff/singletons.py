"""One queue, one records store and the business hours per process, made on first use (never at import)."""
from __future__ import annotations

import functools

from bot.handoff.hours import BusinessHours
from bot.handoff.queue import HandoffQueue
from bot.handoff.records import HandoffRecords
from bot.settings import get_settings


@functools.lru_cache(maxsize=1)
def queue() -> HandoffQueue:
    return HandoffQueue.from_url(get_settings().redis.url())


@functools.lru_cache(maxsize=1)
def records() -> HandoffRecords:
    return HandoffRecords(get_settings().sql_url)


@functools.lru_cache(maxsize=1)
def hours() -> BusinessHours:
    settings = get_settings()
    return BusinessHours.parse(settings.handoff_hours, settings.handoff_timezone)
