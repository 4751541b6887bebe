"""A rating keeps what went wrong, asked after a low one.

Revision ID: handoff_0003
Revises: handoff_0002
"""
import sqlalchemy as sa
from alembic import op

from bot.migrations import add_column_if_missing

revision = "handoff_0003"
down_revision = "handoff_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_column_if_missing("handoff_ratings", sa.Column("comment", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("handoff_ratings") as table:
        table.drop_column("comment")
