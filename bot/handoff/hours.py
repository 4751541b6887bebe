"""Weekly business hours in a time zone: "mon-fri 09:00-18:00; sat 10:00-14:00".

Empty means always open. Parsed once at start; a malformed value is a SettingsError naming it.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import SettingsError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_PART = re.compile(r"^(\w{3})(?:-(\w{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class BusinessHours:
    spans: Tuple[Tuple[int, int, int], ...]  # (weekday, start minute, end minute)
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, zone: str = "UTC") -> BusinessHours:
        try:
            tz = ZoneInfo(zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"HANDOFF_TIMEZONE must be a time zone such as Europe/Berlin, got {zone!r}") from None
        spans: List[Tuple[int, int, int]] = []
        for part in filter(None, (p.strip().lower() for p in (text or "").split(";"))):
            match = _PART.match(part)
            if not match or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
                raise SettingsError(f"HANDOFF_HOURS: cannot read {part!r}; write e.g. 'mon-fri 09:00-18:00; sat 10:00-14:00'")
            first, last = DAYS.index(match[1]), DAYS.index(match[2] or match[1])
            start, end = int(match[3]) * 60 + int(match[4]), int(match[5]) * 60 + int(match[6])
            if not 0 <= start < end <= 24 * 60:
                raise SettingsError(f"HANDOFF_HOURS: {part!r} does not end after it starts")
            days = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
            spans.extend((day, start, end) for day in days)
        return cls(tuple(spans), tz)

    @property
    def always_open(self) -> bool:
        return not self.spans

    def is_open(self, when: dt.datetime) -> bool:
        if self.always_open:
            return True
        local = when.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(day == local.weekday() and start <= minute < end for day, start, end in self.spans)

    def next_opening(self, when: dt.datetime) -> Optional[dt.datetime]:
        """When agents are next on shift (None if always open or never)."""
        if self.always_open or self.is_open(when):
            return None
        local = when.astimezone(self.zone)
        for ahead in range(0, 8):
            date = (local + dt.timedelta(days=ahead)).date()
            for day, start, _ in sorted(self.spans, key=lambda s: s[1]):
                if day != date.weekday():
                    continue
                opening = dt.datetime.combine(date, dt.time(start // 60, start % 60), tzinfo=self.zone)
                if opening > local:
                    return opening
        return None
