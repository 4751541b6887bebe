"""What the handoff leaves behind, in SQL, as one store for the code that needs several kinds: tickets
(bot.handoff.tickets), ratings (bot.handoff.ratings), agents' notes and canned answers (bot.handoff.agent_notes),
on one shared engine; the tables are in bot.handoff.tables."""
from __future__ import annotations

from bot.handoff.agent_notes import DEFAULT_CANNED, AgentNotes
from bot.handoff.ratings import Ratings
from bot.handoff.store import RecordsUnavailable
from bot.handoff.tables import MAX_TEXT, canned, metadata, notes, ratings, tickets
from bot.handoff.tickets import Ticket, Tickets

__all__ = ["DEFAULT_CANNED", "MAX_TEXT", "HandoffRecords", "RecordsUnavailable", "Ticket", "canned", "metadata", "notes",
           "ratings", "tickets"]


class HandoffRecords(Tickets, Ratings, AgentNotes):
    """Tickets, ratings, notes and canned answers together (one engine, held until close())."""
