"""Privacy: forget a customer (touchpoints, transcripts, tickets, ratings, notes), erasure requests made in
chat, and dropping touchpoints older than the retention period.

A signed-in visitor who asks the bot to delete their data gets an erasure request (the action server
records it); the console carries requests out ERASURE_DELAY_SECONDS later, once the conversation's last
turns are stored, so the transcript being written cannot come back after it was deleted."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Dict, Iterable, List

import sqlalchemy as sa

from bot import db
from bot.handoff.tables import notes, ratings, tickets
from bot.logsafe import loggable
from bot.migrations import upgrade
from bot.touchpoints import rollup
from bot.touchpoints.models import touchpoints

logger = logging.getLogger(__name__)
RASA_EVENTS_TABLE = "events"  # Rasa's SQL tracker store

metadata = sa.MetaData()
erasures = sa.Table(
    "erasure_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(64), nullable=False),  # kept after erasure: the proof it was done
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("requested_at", sa.DateTime, nullable=False),
    sa.Column("done_at", sa.DateTime, index=True),
    sa.Column("removed", sa.JSON),  # rows removed, per kind
)


class PrivacyUnavailable(RuntimeError):
    """The database did not take the erasure request."""


def _engine(url: str) -> sa.engine.Engine:
    """The process's engine for the erasure requests, their table migrated (once)."""
    upgrade(url, "privacy")
    return db.engine(url)


def request_erasure(url: str, customer_id: str, conversation_id: str) -> None:
    try:
        with _engine(url).begin() as conn:
            conn.execute(erasures.insert().values(customer_id=customer_id, conversation_id=conversation_id,
                                                  requested_at=dt.datetime.utcnow()))
    except sa.exc.SQLAlchemyError as err:
        raise PrivacyUnavailable(f"erasure request for {customer_id} not recorded: {str(err).splitlines()[0][:200]}") from err
    logger.info("erasure of customer %s requested in conversation %s", loggable(customer_id), loggable(conversation_id))


def erase_due(url: str, touchpoints_url: str, after_seconds: float) -> List[Dict[str, int]]:
    """Carry out the erasure requests made at least `after_seconds` ago; returns what each removed."""
    cutoff = dt.datetime.utcnow() - dt.timedelta(seconds=after_seconds)
    with _engine(url).begin() as conn:
        due = conn.execute(sa.select(erasures.c.id, erasures.c.customer_id, erasures.c.conversation_id).where(
            erasures.c.done_at.is_(None), erasures.c.requested_at <= cutoff).order_by(erasures.c.id)).all()
    done = []
    for request in due:
        removed = forget_customer(url, touchpoints_url, request.customer_id, also=[request.conversation_id])
        with _engine(url).begin() as conn:
            conn.execute(erasures.update().where(erasures.c.id == request.id).values(
                done_at=dt.datetime.utcnow(), removed=removed))
        done.append(removed)
    return done


NLU_FLAGS_TABLE = "nlu_flags"  # bot.training.inbox.flags (not imported here: it pulls in the NLU)


def forget_customer(url: str, touchpoints_url: str, customer_id: str, also: Iterable[str] = ()) -> Dict[str, int]:
    """Delete everything we keep about one customer's conversations (and the conversations in `also`); returns
    how many rows went, per kind. `url` holds the transcripts and handoff records, `touchpoints_url` the
    touchpoints (often the same)."""
    removed: Dict[str, int] = {}
    with db.using(touchpoints_url) as touchpoints_engine, db.using(url) as engine:
        with touchpoints_engine.begin() as conn:
            found = set(also) | {r[0] for r in conn.execute(sa.select(touchpoints.c.conversation_id).where(
                touchpoints.c.customer_id == customer_id).distinct())}
        with engine.begin() as conn:
            inspector = sa.inspect(conn)
            if inspector.has_table(tickets.name):
                found |= {r[0] for r in conn.execute(
                    sa.select(tickets.c.conversation_id).where(tickets.c.customer_id == customer_id))}
            cids = sorted(found)
            for name, table in (("tickets", tickets), ("ratings", ratings), ("notes", notes)):
                if inspector.has_table(table.name):
                    removed[name] = conn.execute(table.delete().where(table.c.conversation_id.in_(cids))).rowcount
            if inspector.has_table(RASA_EVENTS_TABLE) and cids:
                events = sa.Table(RASA_EVENTS_TABLE, sa.MetaData(), autoload_with=conn)
                removed["transcript_events"] = conn.execute(events.delete().where(events.c.sender_id.in_(cids))).rowcount
            if inspector.has_table(NLU_FLAGS_TABLE) and cids:  # the inbox's "bot misunderstood" flags (masked text)
                nlu_flags = sa.Table(NLU_FLAGS_TABLE, sa.MetaData(), autoload_with=conn)
                removed["nlu_flags"] = conn.execute(
                    nlu_flags.delete().where(nlu_flags.c.conversation_id.in_(cids))).rowcount
            removed["conversations"] = len(cids)
        with touchpoints_engine.begin() as conn:
            removed["touchpoints"] = rollup.delete(conn, sa.or_(
                touchpoints.c.customer_id == customer_id, touchpoints.c.conversation_id.in_(cids)))
    logger.info("forgot customer %s: %s", loggable(customer_id), removed)
    return removed


def purge_older_than(url: str, days: int) -> int:
    if days <= 0:
        return 0
    cutoff = dt.datetime.utcnow() - dt.timedelta(days=days)
    with db.using(url) as engine, engine.begin() as conn:
        gone = rollup.delete(conn, touchpoints.c.created_at < cutoff)
    if gone:
        logger.info("retention: %d touchpoints older than %d days deleted", gone, days)
    return gone
