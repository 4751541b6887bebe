"""A rollup with one row per conversation and day, filled from the touchpoints already there: the dashboard's
daily series and funnel read it instead of every message (1M touchpoints are ~130k rollup rows).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STAGES = ("awareness", "consideration", "purchase", "retention", "advocacy")


def upgrade() -> None:
    op.create_table(
        "conversation_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("conversation_id", sa.String(255), primary_key=True),
        *[sa.Column(name, sa.Integer, nullable=False) for name in ("visited", "handed", "messages", "frustrated", "fallbacks")],
        *[sa.Column(f"reached_{stage}", sa.Integer, nullable=False) for stage in STAGES],
    )
    op.create_index("ix_conversation_days_conversation", "conversation_days", ["conversation_id"])
    from bot.touchpoints import rollup  # the rollup's definition lives in one place; a change to it rebuilds

    rollup.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("conversation_days")
