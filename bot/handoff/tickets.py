"""Tickets: messages visitors left when nobody could take the chat, and the agents' answers to them."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from bot.handoff.store import RecordsStore, now
from bot.handoff.tables import MAX_TEXT, tickets


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


class Tickets(RecordsStore):
    def create_ticket(self, conversation_id: str, email: str, message: str, reason: str,
                      customer_id: Optional[str] = None) -> Ticket:
        at = now()
        row: Dict[str, Any] = {"reference": "T-" + secrets.token_hex(3).upper(), "conversation_id": conversation_id,
               "customer_id": customer_id, "email": email[:254], "message": message[:MAX_TEXT], "reason": reason,
               "status": "open", "created_at": at, "updated_at": at}
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
            reply=reply[:MAX_TEXT], replied_by=by, status=status, updated_at=now(), sent_at=None, send_error=None)
        self._run("store the reply", lambda c: c.execute(update))
        return self.ticket(ticket_id)

    def record_sending(self, ticket_id: int, error: Optional[str] = None, status: Optional[str] = None) -> Optional[Ticket]:
        """The reply went out (error None; `status` if given), or why it did not: then the ticket is open again,
        so it stays in the agents' list until it is resent."""
        if error is None:
            values = {"sent_at": now(), "send_error": None, **({"status": status} if status else {})}
        else:
            values = {"send_error": error[:300], "status": "open"}
        update = tickets.update().where(tickets.c.id == ticket_id).values(updated_at=now(), **values)
        self._run("record the sending", lambda c: c.execute(update))
        return self.ticket(ticket_id)
