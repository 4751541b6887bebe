"""A covering index for the dashboard's daily series: the day's rows are read from the index alone.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_touchpoints_daily", "touchpoints", ["created_at", "actor", "type"],
                    postgresql_include=["conversation_id", "frustration"])


def downgrade() -> None:
    op.drop_index("ix_touchpoints_daily", "touchpoints")
