"""The covering index also carries the stage, so the journey funnel reads the index alone too.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_touchpoints_daily", "touchpoints")
    op.create_index("ix_touchpoints_daily", "touchpoints", ["created_at", "actor", "type"],
                    postgresql_include=["conversation_id", "frustration", "stage"])


def downgrade() -> None:
    op.drop_index("ix_touchpoints_daily", "touchpoints")
    op.create_index("ix_touchpoints_daily", "touchpoints", ["created_at", "actor", "type"],
                    postgresql_include=["conversation_id", "frustration"])
