"""The touchpoint table. Its schema is owned by Alembic (migrations/); `upgrade(url)` brings a database
to the current revision and is run by whoever writes first (the runner, the console, the broker)."""
from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any, Dict, Optional

import sqlalchemy as sa

logger = logging.getLogger(__name__)

metadata = sa.MetaData()
MAX_TEXT = 500  # characters of a message kept in a touchpoint (the transcript has the rest)

ACTORS = ("visitor", "bot", "agent", "system")
TYPES = ("message", "intent", "action", "handoff_requested", "handoff_queued", "handoff_claimed",
         "handoff_transferred", "handoff_handed_back", "ticket", "rating", "verification", "order_lookup",
         "fallback", "error")
STAGES = ("awareness", "consideration", "purchase", "retention", "advocacy")

touchpoints = sa.Table(
    "touchpoints", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("channel", sa.String(32), nullable=False, default=""),
    sa.Column("actor", sa.String(16), nullable=False),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("intent", sa.String(64)),
    sa.Column("confidence", sa.Float),
    sa.Column("frustration", sa.Float),
    sa.Column("latency_ms", sa.Integer),
    sa.Column("text", sa.String(MAX_TEXT)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("meta", sa.JSON, nullable=False, default=dict),
    sa.Index("ix_touchpoints_created_at", "created_at"),
    sa.Index("ix_touchpoints_type_created_at", "type", "created_at"),
    sa.Index("ix_touchpoints_conversation", "conversation_id", "created_at"),
    sa.Index("ix_touchpoints_customer", "customer_id"),
    sa.Index("ix_touchpoints_daily", "created_at", "actor", "type",
             postgresql_include=["conversation_id", "frustration", "stage"]),
)

# One row per conversation and day it was active in: what the dashboard's daily series and funnel read, so
# their cost follows conversations, not messages. Kept by bot.touchpoints.rollup as rows come and go.
conversation_days = sa.Table(
    "conversation_days", metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("visited", sa.Integer, nullable=False),  # the visitor said or did something that day
    sa.Column("handed", sa.Integer, nullable=False),  # a person was asked for
    sa.Column("messages", sa.Integer, nullable=False),  # visitor messages
    sa.Column("frustrated", sa.Integer, nullable=False),  # visitor messages scored frustrated
    sa.Column("fallbacks", sa.Integer, nullable=False),
    *[sa.Column(f"reached_{stage}", sa.Integer, nullable=False) for stage in STAGES],
    sa.Index("ix_conversation_days_conversation", "conversation_id"),
)

# What each text column holds at most; longer values are cut before they are written
LENGTHS = {c.name: c.type.length for c in touchpoints.columns if isinstance(c.type, sa.String) and c.type.length}
SURROGATES = re.compile("[\ud800-\udfff]")  # a JSON "\\udc80" decodes to one; it has no UTF-8 form


def clean(row: Dict[str, Any]) -> Dict[str, Any]:
    """A touchpoint row every database takes: text without NUL characters (PostgreSQL refuses them) or lone
    surrogates (no encoding has them), cut to its column's length (PostgreSQL refuses longer, SQLite keeps
    it); strings inside `meta` cleaned the same way."""
    return {key: _clean(value, LENGTHS.get(key)) for key, value in row.items()}


def _clean(value: Any, limit: Optional[int] = None) -> Any:
    if isinstance(value, str):
        text = SURROGATES.sub("\ufffd", value.replace("\x00", ""))
        return text[:limit] if limit else text
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@functools.lru_cache(maxsize=8)
def upgrade(url: str) -> None:
    """Create or migrate the touchpoint schema (idempotent; once per process and database)."""
    from bot import db

    db.migrate(url, MIGRATIONS, "head")
