"""Privacy: forget a customer (touchpoints, transcripts, tickets, ratings, notes) and drop touchpoints older
than the retention period."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Dict

import sqlalchemy as sa

from bot.handoff.records import notes, ratings, tickets
from bot.touchpoints import rollup
from bot.touchpoints.models import touchpoints

logger = logging.getLogger(__name__)
RASA_EVENTS_TABLE = "events"  # Rasa's SQL tracker store


def forget_customer(url: str, touchpoints_url: str, customer_id: str) -> Dict[str, int]:
    """Delete everything we keep about one customer's conversations; returns how many rows went, per kind.
    `url` holds the transcripts and handoff records, `touchpoints_url` the touchpoints (often the same)."""
    removed: Dict[str, int] = {}
    engine = sa.create_engine(touchpoints_url, future=True)
    try:
        with engine.begin() as conn:
            cids = {r[0] for r in conn.execute(sa.select(touchpoints.c.conversation_id).where(
                touchpoints.c.customer_id == customer_id).distinct())}
    finally:
        engine.dispose()
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as conn:
            inspector = sa.inspect(conn)
            if inspector.has_table(tickets.name):
                cids |= {r[0] for r in conn.execute(
                    sa.select(tickets.c.conversation_id).where(tickets.c.customer_id == customer_id))}
            cids = sorted(cids)
            for name, table in (("tickets", tickets), ("ratings", ratings), ("notes", notes)):
                if inspector.has_table(table.name):
                    removed[name] = conn.execute(table.delete().where(table.c.conversation_id.in_(cids))).rowcount
            if inspector.has_table(RASA_EVENTS_TABLE) and cids:
                events = sa.Table(RASA_EVENTS_TABLE, sa.MetaData(), autoload_with=conn)
                removed["transcript_events"] = conn.execute(events.delete().where(events.c.sender_id.in_(cids))).rowcount
            removed["conversations"] = len(cids)
    finally:
        engine.dispose()
    engine = sa.create_engine(touchpoints_url, future=True)
    try:
        with engine.begin() as conn:
            removed["touchpoints"] = rollup.delete(conn, sa.or_(
                touchpoints.c.customer_id == customer_id, touchpoints.c.conversation_id.in_(cids)))
    finally:
        engine.dispose()
    logger.info("forgot customer %s: %s", customer_id, removed)
    return removed


def purge_older_than(url: str, days: int) -> int:
    if days <= 0:
        return 0
    cutoff = dt.datetime.utcnow() - dt.timedelta(days=days)
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as conn:
            gone = rollup.delete(conn, touchpoints.c.created_at < cutoff)
    finally:
        engine.dispose()
    if gone:
        logger.info("retention: %d touchpoints older than %d days deleted", gone, days)
    return gone
