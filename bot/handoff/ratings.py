"""Ratings: CSAT and NPS, once per conversation, with what went wrong after a low one."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from bot.handoff.store import AlreadyRecorded, RecordsStore, now
from bot.handoff.tables import MAX_TEXT, ratings


class Ratings(RecordsStore):
    def rating(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        row = self._run("read the rating", lambda c: c.execute(
            ratings.select().where(ratings.c.conversation_id == conversation_id)).first())
        return dict(row._mapping) if row else None

    def save_rating(self, conversation_id: str, csat: Optional[int], nps: Optional[int], agent_id: str = "",
                    comment: Optional[str] = None) -> bool:
        """False if this conversation was already rated: the first rating stands."""
        row = {"conversation_id": conversation_id, "csat": csat, "nps": nps, "agent_id": agent_id or None,
               "created_at": now(), "comment": comment[:MAX_TEXT] if comment else None}
        try:
            self._run("store the rating", lambda c: c.execute(ratings.insert().values(**row)))
        except AlreadyRecorded:
            return False
        return True

    def low_ratings(self, start: dt.datetime, end: dt.datetime, limit: int = 20) -> List[Dict[str, Any]]:
        """The latest ratings in [start, end) that came with a comment on what went wrong, newest first."""
        query = ratings.select().where(ratings.c.created_at >= start, ratings.c.created_at < end,
                                       ratings.c.comment.isnot(None)).order_by(ratings.c.created_at.desc()).limit(limit)
        return self._run("read low ratings", lambda c: [
            {**r._mapping, "created_at": r.created_at.isoformat()} for r in c.execute(query)])
