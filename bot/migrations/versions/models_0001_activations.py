"""Every model activation and rollback: who, when, why, which model replaced which, and the evaluation it had.

Revision ID: models_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from bot.migrations import create_table_if_missing

revision = "models_0001"
down_revision = None
branch_labels = ("models",)
depends_on = None


def upgrade() -> None:
    create_table_if_missing(
        "model_activations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # activate | rollback
        sa.Column("model", sa.String(255), nullable=False),  # the model made active
        sa.Column("previous", sa.String(255)),  # the one it replaced
        sa.Column("reason", sa.String(500), nullable=False, default=""),
        sa.Column("replicas", sa.JSON),  # each Rasa server and what it answered
        sa.Column("report", sa.JSON),  # the evaluation the model was activated on
    )


def downgrade() -> None:
    op.drop_table("model_activations")
