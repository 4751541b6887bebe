"""Touchpoint rows go into a bounded buffer and are written in batches by a background task, so logging
never slows or breaks a conversation. If the database is down the rows wait and are written when it is
back; only when the buffer is full is anything dropped, and then it is counted and logged.

Rows are cleaned as they come in (models.clean). A row the database still refuses must not hold up the
others: a refused batch is halved until the refused row stands alone, and that row is logged, counted
(`rejected`) and set aside; the tracker still has the conversation it came from."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Deque, Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa

from bot import db
from bot.logsafe import first_line, loggable
from bot.touchpoints import rollup
from bot.touchpoints.models import clean, upgrade

logger = logging.getLogger(__name__)

DEFAULT_MAX_BUFFER = 200_000
DEFAULT_BATCH = 1000
DEFAULT_INTERVAL = 0.5
RETRY_LOG_SECONDS = 30.0
# what a row can cause, as opposed to the database being down or its schema missing (those are retried)
ROW_ERRORS = (sa.exc.DataError, sa.exc.IntegrityError, ValueError, TypeError, KeyError)


def refused_row(err: Exception) -> bool:
    """The rows are at fault: a value the database or its driver refuses (a StatementError that is no
    DBAPIError failed while binding a value)."""
    if isinstance(err, sa.exc.StatementError) and not isinstance(err, sa.exc.DBAPIError):
        return True
    return isinstance(err, ROW_ERRORS)


class TouchpointWriter:
    def __init__(self, url: str, max_buffer: int = DEFAULT_MAX_BUFFER, batch: int = DEFAULT_BATCH,
                 interval: float = DEFAULT_INTERVAL, spill: Optional[Path] = None) -> None:
        self.url, self.max_buffer, self.batch, self.interval = url, max_buffer, batch, interval
        self.spill = spill  # where rows still waiting at shutdown are kept for the next start
        self.buffer: Deque[Dict[str, Any]] = deque()
        self.lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.rejected = 0  # rows the database refused, set aside
        self.failures = 0
        self._engine: Optional[sa.engine.Engine] = None
        self._task: Optional[asyncio.Task] = None
        self._last_error_log = 0.0
        self._load_spill()

    @property
    def engine(self) -> sa.engine.Engine:
        if self._engine is None:
            upgrade(self.url)
            self._engine = db.hold(self.url)  # shared; let go of in close()
        return self._engine

    def add(self, rows: Iterable[Dict[str, Any]]) -> None:
        with self.lock:
            for item in rows:
                if len(self.buffer) >= self.max_buffer:
                    self.dropped += 1
                    if self.dropped == 1 or self.dropped % 1000 == 0:
                        logger.error("touchpoint buffer full (%d rows; database down?): %d rows dropped so far",
                                     self.max_buffer, self.dropped)
                    continue
                self.buffer.append(clean(item))

    def flush(self) -> int:
        """Write everything buffered (in batches); rows stay buffered while the database cannot take them."""
        total = 0
        while True:
            with self.lock:
                batch = [self.buffer.popleft() for _ in range(min(self.batch, len(self.buffer)))]
            if not batch:
                return total
            written, unwritten, err = self._write(batch)
            self.written += written
            total += written
            if unwritten:  # database down, or its schema not migrated yet: the rows stay for the next try
                with self.lock:
                    self.buffer.extendleft(reversed(unwritten))
                assert err is not None  # _write says why whenever rows are left
                self._retry_later(err)
                return total

    def _write(self, batch: List[Dict[str, Any]]) -> Tuple[int, List[Dict[str, Any]], Optional[Exception]]:
        """(rows written, rows to try again later, why). A refused part is halved until the refused row is
        alone; that row is set aside. Rows stay in order."""
        written, pending = 0, [batch]  # a stack: the next part to write is last
        while pending:
            part = pending.pop()
            try:
                with self.engine.begin() as conn:
                    written += rollup.insert(conn, part)
            except Exception as err:
                if not refused_row(err):
                    return written, part + [r for rest in reversed(pending) for r in rest], err
                if len(part) == 1:
                    self._reject(part[0], err)
                else:
                    pending += [part[len(part) // 2:], part[:len(part) // 2]]
        return written, [], None

    def _reject(self, item: Dict[str, Any], err: Exception) -> None:
        self.rejected += 1
        if self.rejected <= 10 or self.rejected % 1000 == 0:
            logger.error("touchpoint (%s) of conversation %s refused by the database and set aside, %d so far: %s",
                         loggable(item.get("type")), loggable(item.get("conversation_id")), self.rejected, first_line(err))

    def _retry_later(self, err: Exception) -> None:
        self.failures += 1
        now = time.monotonic()
        if now - self._last_error_log > RETRY_LOG_SECONDS:
            self._last_error_log = now
            logger.warning("touchpoints not written yet (%d waiting), will retry: %s", len(self.buffer), first_line(err))

    def start(self) -> None:
        """The background flush loop, on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_event_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.buffer:
                await asyncio.to_thread(self.flush)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await asyncio.to_thread(self.flush)
        if self.buffer:
            self._save_spill()
        if self._engine is not None:
            db.release(self._engine)
            self._engine = None

    def _save_spill(self) -> None:
        if self.spill is None:
            logger.error("%d touchpoints could not be written before shutdown and are lost", len(self.buffer))
            self.dropped += len(self.buffer)
            return
        self.spill.parent.mkdir(parents=True, exist_ok=True)
        with self.lock, self.spill.open("a", encoding="utf-8") as out:
            for item in self.buffer:
                out.write(json.dumps({**item, "created_at": item["created_at"].isoformat()}, default=str) + "\n")
            logger.warning("%d touchpoints kept in %s until the database is back", len(self.buffer), self.spill)
            self.buffer.clear()

    def _load_spill(self) -> None:
        if self.spill is None or not self.spill.exists():
            return
        rows = []
        for line in self.spill.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
                item["created_at"] = dt.datetime.fromisoformat(item["created_at"])
                rows.append(item)
            except (ValueError, KeyError):
                logger.error("unreadable line in %s skipped", self.spill)
                self.dropped += 1
        self.spill.unlink()
        self.add(rows)
