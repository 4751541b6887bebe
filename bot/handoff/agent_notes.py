"""What agents write for themselves: internal notes on a conversation, and canned answers to send."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from bot.handoff.store import RecordsStore, now
from bot.handoff.tables import MAX_TEXT, canned, notes

# a first set of canned answers, put in when their table is made (bot/migrations); admins edit them
DEFAULT_CANNED = [
    ("Greeting", "Hi, I'm taking over from our assistant. I've read the conversation so far - give me a moment."),
    ("Checking", "Thanks for your patience, I'm checking this for you right now."),
    ("Order found", "I've found your order and can see what happened. Here is what I can do for you:"),
    ("Anything else", "Is there anything else I can help you with today?"),
    ("Closing", "Thanks for chatting with us! I'll hand you back to our assistant now."),
]


class AgentNotes(RecordsStore):
    def add_note(self, conversation_id: str, author: str, text: str) -> Dict[str, Any]:
        row: Dict[str, Any] = {"conversation_id": conversation_id, "author": author, "text": text[:MAX_TEXT], "created_at": now()}
        row["id"] = self._run("store the note", lambda c: c.execute(notes.insert().values(**row)).inserted_primary_key[0])
        return {**row, "created_at": row["created_at"].isoformat()}

    def notes(self, conversation_id: str) -> List[Dict[str, Any]]:
        query = notes.select().where(notes.c.conversation_id == conversation_id).order_by(notes.c.id)
        return self._run("read notes", lambda c: [
            {**r._mapping, "created_at": r.created_at.isoformat()} for r in c.execute(query)])

    def canned(self) -> List[Dict[str, Any]]:
        return self._run("read canned responses", lambda c: [dict(r._mapping) for r in c.execute(
            canned.select().order_by(canned.c.title))])

    def save_canned(self, title: str, text: str, canned_id: Optional[int] = None) -> Dict[str, Any]:
        values: Dict[str, Any] = {"title": title[:80], "text": text[:MAX_TEXT]}
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
