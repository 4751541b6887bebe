"""What the handoff leaves behind, in SQL: tickets (messages left when nobody could take the chat),
ratings (CSAT and NPS, once per conversation), agents' internal notes and canned responses."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.settings import MAX_STORED_TEXT

metadata = sa.MetaData()

tickets = sa.Table(
    "handoff_tickets", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(16), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("customer_id", sa.String(32)),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),  # closed | no_agents | waited_too_long
    sa.Column("status", sa.String(16), nullable=False, default="open", index=True),  # open | answered | closed
    sa.Column("reply", sa.Text),
    sa.Column("replied_by", sa.String(64)),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),  # when the reply last went out by email
    sa.Column("send_error", sa.String(300)),  # why the last sending failed (the reply stays stored)
)
# columns added after the first release: create_all() does not add columns to a table that exists
ratings = sa.Table(
    "handoff_ratings", metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),  # once per conversation
    sa.Column("csat", sa.Integer),  # 1-5, None if skipped
    sa.Column("nps", sa.Integer),  # 0-10, None if skipped
    sa.Column("agent_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    sa.Column("comment", sa.Text),  # what went wrong, asked after a low rating; None if not asked or skipped
)
notes = sa.Table(
    "handoff_notes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
canned = sa.Table(
    "handoff_canned", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(80), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
)

DEFAULT_CANNED = [
    ("Greeting", "Hi, I'm taking over from our assistant. I've read the conversation so far - give me a moment."),
    ("Checking", "Thanks for your patience, I'm checking this for you right now."),
    ("Order found", "I've found your order and can see what happened. Here is what I can do for you:"),
    ("Anything else", "Is there anything else I can help you with today?"),
    ("Closing", "Thanks for chatting with us! I'll hand you back to our assistant now."),
]
MAX_TEXT = MAX_STORED_TEXT


def add_missing_columns(engine: sa.engine.Engine) -> List[str]:
    """A database made by an older version gets the columns added since (create_all makes only missing
    tables). Added columns are nullable, so rows already there stay valid. Returns what was added. The console
    and the action server may both try at start: the loser's ALTER fails on the column now there, which is
    what it wanted."""
    inspector, added = sa.inspect(engine), []
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=engine.dialect)
                try:
                    with engine.begin() as conn:
                        conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
                except SQLAlchemyError:
                    if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(table.name)}:
                        raise
                    continue
                added.append(f"{table.name}.{column.name}")
    return added


class RecordsUnavailable(RuntimeError):
    """The database did not answer; the message says what could not be done."""


@dataclass
class Ticket:
    id: int
    reference: str
    conversation_id: str
    customer_id: Optional[str]
    email: str
    message: str
    reason: str
    status: str
    reply: Optional[str]
    replied_by: Optional[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    sent_at: Optional[dt.datetime] = None
    send_error: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        out = dict(self.__dict__)
        out["created_at"], out["updated_at"] = self.created_at.isoformat(), self.updated_at.isoformat()
        out["sent_at"] = self.sent_at.isoformat() if self.sent_at else None
        return out


def _now() -> dt.datetime:
    return dt.datetime.utcnow().replace(microsecond=0)


class HandoffRecords:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        new = not sa.inspect(self.engine).has_table(canned.name)
        metadata.create_all(self.engine)
        add_missing_columns(self.engine)
        if new:  # a first set to start from; admins edit them (deleting them all leaves none)
            self._run("seed canned responses", lambda c: c.execute(
                canned.insert(), [{"title": t, "text": x} for t, x in DEFAULT_CANNED]))

    def close(self) -> None:
        self.engine.dispose()

    def _run(self, what: str, fn):
        try:
            with self.engine.begin() as conn:
                return fn(conn)
        except IntegrityError:
            raise
        except SQLAlchemyError as err:
            raise RecordsUnavailable(f"could not {what}: {err.__class__.__name__}") from err

    # tickets
    def create_ticket(self, conversation_id: str, email: str, message: str, reason: str,
                      customer_id: Optional[str] = None) -> Ticket:
        now = _now()
        row = {"reference": "T-" + secrets.token_hex(3).upper(), "conversation_id": conversation_id,
               "customer_id": customer_id, "email": email[:254], "message": message[:MAX_TEXT], "reason": reason,
               "status": "open", "created_at": now, "updated_at": now}
        row["id"] = self._run("store the ticket", lambda c: c.execute(tickets.insert().values(**row)).inserted_primary_key[0])
        return Ticket(reply=None, replied_by=None, **row)

    def tickets(self, status: Optional[str] = None, limit: int = 200) -> List[Ticket]:
        query = tickets.select().order_by(tickets.c.created_at.desc(), tickets.c.id.desc()).limit(limit)
        if status:
            query = query.where(tickets.c.status == status)
        return self._run("list tickets", lambda c: [Ticket(**r._mapping) for r in c.execute(query)])

    def has_ticket(self, conversation_id: str) -> bool:
        query = sa.select(tickets.c.id).where(tickets.c.conversation_id == conversation_id).limit(1)
        return self._run("look for tickets", lambda c: c.execute(query).first() is not None)

    def ticket(self, ticket_id: int) -> Optional[Ticket]:
        row = self._run("read the ticket", lambda c: c.execute(tickets.select().where(tickets.c.id == ticket_id)).first())
        return Ticket(**row._mapping) if row else None

    def answer_ticket(self, ticket_id: int, reply: str, by: str, status: str = "answered") -> Optional[Ticket]:
        """Store the reply; it has not been sent yet (a new reply is a new email)."""
        update = tickets.update().where(tickets.c.id == ticket_id).values(
            reply=reply[:MAX_TEXT], replied_by=by, status=status, updated_at=_now(), sent_at=None, send_error=None)
        self._run("store the reply", lambda c: c.execute(update))
        return self.ticket(ticket_id)

    def record_sending(self, ticket_id: int, error: Optional[str] = None, status: Optional[str] = None) -> Optional[Ticket]:
        """The reply went out (error None; `status` if given), or why it did not: then the ticket is open again,
        so it stays in the agents' list until it is resent."""
        if error is None:
            values = {"sent_at": _now(), "send_error": None, **({"status": status} if status else {})}
        else:
            values = {"send_error": error[:300], "status": "open"}
        update = tickets.update().where(tickets.c.id == ticket_id).values(updated_at=_now(), **values)
        self._run("record the sending", lambda c: c.execute(update))
        return self.ticket(ticket_id)

    # ratings
    def rating(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        row = self._run("read the rating", lambda c: c.execute(
            ratings.select().where(ratings.c.conversation_id == conversation_id)).first())
        return dict(row._mapping) if row else None

    def save_rating(self, conversation_id: str, csat: Optional[int], nps: Optional[int], agent_id: str = "",
                    comment: Optional[str] = None) -> bool:
        """False if this conversation was already rated: the first rating stands."""
        row = {"conversation_id": conversation_id, "csat": csat, "nps": nps, "agent_id": agent_id or None,
               "created_at": _now(), "comment": comment[:MAX_TEXT] if comment else None}
        try:
            self._run("store the rating", lambda c: c.execute(ratings.insert().values(**row)))
        except IntegrityError:
            return False
        return True

    def low_ratings(self, start: dt.datetime, end: dt.datetime, limit: int = 20) -> List[Dict[str, Any]]:
        """The latest ratings in [start, end) that came with a comment on what went wrong, newest first."""
        query = ratings.select().where(ratings.c.created_at >= start, ratings.c.created_at < end,
                                       ratings.c.comment.isnot(None)).order_by(ratings.c.created_at.desc()).limit(limit)
        return self._run("read low ratings", lambda c: [
            {**r._mapping, "created_at": r.created_at.isoformat()} for r in c.execute(query)])

    # notes
    def add_note(self, conversation_id: str, author: str, text: str) -> Dict[str, Any]:
        row = {"conversation_id": conversation_id, "author": author, "text": text[:MAX_TEXT], "created_at": _now()}
        row["id"] = self._run("store the note", lambda c: c.execute(notes.insert().values(**row)).inserted_primary_key[0])
        return {**row, "created_at": row["created_at"].isoformat()}

    def notes(self, conversation_id: str) -> List[Dict[str, Any]]:
        query = notes.select().where(notes.c.conversation_id == conversation_id).order_by(notes.c.id)
        return self._run("read notes", lambda c: [
            {**r._mapping, "created_at": r.created_at.isoformat()} for r in c.execute(query)])

    # canned responses
    def canned(self) -> List[Dict[str, Any]]:
        return self._run("read canned responses", lambda c: [dict(r._mapping) for r in c.execute(
            canned.select().order_by(canned.c.title))])

    def save_canned(self, title: str, text: str, canned_id: Optional[int] = None) -> Dict[str, Any]:
        values = {"title": title[:80], "text": text[:MAX_TEXT]}
        if canned_id is None:
            values["id"] = self._run("store the canned response", lambda c: c.execute(
                canned.insert().values(**values)).inserted_primary_key[0])
        else:
            self._run("update the canned response", lambda c: c.execute(
                canned.update().where(canned.c.id == canned_id).values(**values)))
            values["id"] = canned_id
        return values

    def delete_canned(self, canned_id: int) -> None:
        self._run("delete the canned response", lambda c: c.execute(canned.delete().where(canned.c.id == canned_id)))
