"""The one way touchpoints go in and out, so the per-conversation-day rollup (models.conversation_days) always
matches them: `insert` and `delete` change touchpoints and recompute the rollup rows of the conversations
they touched, in the same transaction; `rebuild` recomputes all of it (after a bulk load, in a migration).

The rollup is recomputed from the touchpoints rather than incremented, so it is one SQL definition, exact
after deletes, and a retried batch cannot count twice. On PostgreSQL writers take one transaction-scoped
advisory lock, so two processes writing the same conversation cannot each recompute it without seeing the
other's rows (SQLite serialises writers by itself)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa

from bot.frustration.signals import FRUSTRATED_AT
from bot.touchpoints.models import STAGES, conversation_days
from bot.touchpoints.models import touchpoints as tp

WRITERS_LOCK = 0x746F7563  # "touc": the advisory lock key every touchpoint writer takes on PostgreSQL
CHUNK = 500  # conversation ids per IN list


def aggregate(where: Any) -> sa.sql.Select:
    """Rollup rows (one per day and conversation) computed from the touchpoints matching `where`."""
    day = sa.func.date(tp.c.created_at)
    visitor = tp.c.actor == "visitor"
    typed = sa.and_(visitor, tp.c.type == "message")
    flag = lambda condition: sa.func.max(sa.case((condition, 1), else_=0))  # noqa: E731
    count = lambda condition: sa.func.sum(sa.case((condition, 1), else_=0))  # noqa: E731
    return sa.select(
        day.label("day"), tp.c.conversation_id,
        flag(visitor).label("visited"), flag(tp.c.type == "handoff_requested").label("handed"),
        count(typed).label("messages"), count(sa.and_(typed, tp.c.frustration >= FRUSTRATED_AT)).label("frustrated"),
        count(tp.c.type == "fallback").label("fallbacks"),
        *[flag(sa.and_(visitor, tp.c.stage == stage)).label(f"reached_{stage}") for stage in STAGES],
    ).where(where).group_by(day, tp.c.conversation_id)


COLUMNS = [c.name for c in conversation_days.columns]


def _serialise(conn: sa.engine.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITERS_LOCK})


def refresh(conn: sa.engine.Connection, conversation_ids: Iterable[str], since: Optional[dt.date] = None) -> None:
    """Recompute the rollup of these conversations (from day `since` on, or all their days)."""
    ids = sorted(set(conversation_ids))
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        old = conversation_days.c.conversation_id.in_(chunk)
        new = tp.c.conversation_id.in_(chunk)
        if since is not None:
            old = sa.and_(old, conversation_days.c.day >= since)
            new = sa.and_(new, tp.c.created_at >= dt.datetime.combine(since, dt.time()))
        conn.execute(conversation_days.delete().where(old))
        conn.execute(conversation_days.insert().from_select(COLUMNS, aggregate(new)))


def insert(conn: sa.engine.Connection, rows: List[Dict[str, Any]]) -> int:
    """Add touchpoint rows (within the caller's transaction) and bring their conversations' rollup up to date."""
    if not rows:
        return 0
    _serialise(conn)
    conn.execute(tp.insert(), rows)
    refresh(conn, {r["conversation_id"] for r in rows}, since=min(r["created_at"] for r in rows).date())
    return len(rows)


def delete(conn: sa.engine.Connection, where: Any) -> int:
    """Delete the touchpoints matching `where` and recompute the rollup of the conversations they were in."""
    _serialise(conn)
    ids = [r[0] for r in conn.execute(sa.select(tp.c.conversation_id).where(where).distinct())]
    gone = conn.execute(tp.delete().where(where)).rowcount
    refresh(conn, ids)
    return gone


def rebuild(conn: sa.engine.Connection) -> None:
    """Recompute the whole rollup (after rows were loaded around `insert`, e.g. with COPY)."""
    _serialise(conn)
    conn.execute(conversation_days.delete())
    conn.execute(conversation_days.insert().from_select(COLUMNS, aggregate(sa.true())))
