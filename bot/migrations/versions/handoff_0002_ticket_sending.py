"""Tickets record when their answer was emailed, or why not.

Revision ID: handoff_0002
Revises: handoff_0001
"""
import sqlalchemy as sa
from alembic import op

from bot.migrations import add_column_if_missing

revision = "handoff_0002"
down_revision = "handoff_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_column_if_missing("handoff_tickets", sa.Column("sent_at", sa.DateTime))
    add_column_if_missing("handoff_tickets", sa.Column("send_error", sa.String(300)))


def downgrade() -> None:
    with op.batch_alter_table("handoff_tickets") as table:
        table.drop_column("send_error")
        table.drop_column("sent_at")
