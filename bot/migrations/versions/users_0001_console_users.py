"""Console users (bot.console.users), as create_all made them before migrations.

Revision ID: users_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from bot.migrations import create_table_if_missing

revision = "users_0001"
down_revision = None
branch_labels = ("users",)
depends_on = None


def upgrade() -> None:
    create_table_if_missing(
        "console_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("teams", sa.String(120), nullable=False),
        sa.Column("max_chats", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_users")
