"""The handoff records as first released (create_all): tickets, ratings, notes and canned answers, with a
first set of canned answers in a new canned table.

Revision ID: handoff_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from bot.migrations import create_table_if_missing

revision = "handoff_0001"
down_revision = None
branch_labels = ("handoff",)
depends_on = None


def upgrade() -> None:
    create_table_if_missing(
        "handoff_tickets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reply", sa.Text),
        sa.Column("replied_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    create_table_if_missing(
        "handoff_ratings",
        sa.Column("conversation_id", sa.String(255), primary_key=True),
        sa.Column("csat", sa.Integer),
        sa.Column("nps", sa.Integer),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    )
    create_table_if_missing(
        "handoff_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    canned = [sa.Column("id", sa.Integer, primary_key=True), sa.Column("title", sa.String(80), nullable=False, unique=True),
              sa.Column("text", sa.Text, nullable=False)]
    if create_table_if_missing("handoff_canned", *canned):  # a first set to start from; admins edit them
        from bot.handoff.agent_notes import DEFAULT_CANNED

        op.bulk_insert(sa.table("handoff_canned", sa.column("title"), sa.column("text")),
                       [{"title": title, "text": text} for title, text in DEFAULT_CANNED])


def downgrade() -> None:
    for name in ("handoff_canned", "handoff_notes", "handoff_ratings", "handoff_tickets"):
        op.drop_table(name)
