"""The handoff's SQL tables, in one place: tickets, ratings, agents' notes and canned answers. Their schema
is owned by the bot database's migrations (bot/migrations, branch `handoff`)."""
from __future__ import annotations

import sqlalchemy as sa

from bot.settings import MAX_STORED_TEXT

MAX_TEXT = MAX_STORED_TEXT
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
