"""The touchpoint table and its indexes.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "touchpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("intent", sa.String(64)),
        sa.Column("confidence", sa.Float),
        sa.Column("frustration", sa.Float),
        sa.Column("latency_ms", sa.Integer),
        sa.Column("text", sa.String(500)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
    )
    op.create_index("ix_touchpoints_created_at", "touchpoints", ["created_at"])
    op.create_index("ix_touchpoints_type_created_at", "touchpoints", ["type", "created_at"])
    op.create_index("ix_touchpoints_conversation", "touchpoints", ["conversation_id", "created_at"])
    op.create_index("ix_touchpoints_customer", "touchpoints", ["customer_id"])


def downgrade() -> None:
    op.drop_table("touchpoints")
