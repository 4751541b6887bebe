"""What every handoff record store shares: the database's engine (shared, bot.db) with its schema migrated,
and one way to run a statement that turns a database failure into RecordsUnavailable."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot import db
from bot.migrations import upgrade

T = TypeVar("T")


class RecordsUnavailable(RuntimeError):
    """The database did not answer; the message says what could not be done."""


class AlreadyRecorded(ValueError):
    """A record with that unique name (or for that conversation) is already there."""


def now() -> dt.datetime:
    return dt.datetime.utcnow().replace(microsecond=0)


class RecordsStore:
    def __init__(self, url: str) -> None:
        self.engine: sa.engine.Engine = db.hold(url)
        upgrade(url, "handoff")

    def close(self) -> None:
        db.release(self.engine)

    def _run(self, what: str, fn: Callable[[Any], T]) -> T:  # fn gets the connection (sa.engine.Connection)
        try:
            with self.engine.begin() as conn:
                return fn(conn)
        except IntegrityError as err:
            raise AlreadyRecorded(f"could not {what}: it is already there") from err
        except SQLAlchemyError as err:
            raise RecordsUnavailable(f"could not {what}: {err.__class__.__name__}") from err
