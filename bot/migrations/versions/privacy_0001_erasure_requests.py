"""Erasure requests made in chat (bot.touchpoints.privacy), as create_all made them before migrations.

Revision ID: privacy_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from bot.migrations import create_table_if_missing

revision = "privacy_0001"
down_revision = None
branch_labels = ("privacy",)
depends_on = None


def upgrade() -> None:
    create_table_if_missing(
        "erasure_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("done_at", sa.DateTime, index=True),
        sa.Column("removed", sa.JSON),
    )


def downgrade() -> None:
    op.drop_table("erasure_requests")
