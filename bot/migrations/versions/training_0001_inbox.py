"""The trainer loop's tables: what the NLU inbox's messages became (reviews), the messages agents marked "bot
misunderstood" (flags), and every change taught into the NLU data (the history, with undo).

Revision ID: training_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from bot.migrations import create_table_if_missing

revision = "training_0001"
down_revision = None
branch_labels = ("training",)
depends_on = None


def upgrade() -> None:
    create_table_if_missing(
        "nlu_reviews",  # one row per inbox group (its key: the message as the classifier sees it) once decided
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),  # applied | ignored
        sa.Column("intent", sa.String(64)),
        sa.Column("reviewed_by", sa.String(32), nullable=False),
        sa.Column("reviewed_at", sa.DateTime, nullable=False),
    )
    create_table_if_missing(
        "nlu_flags",  # a visitor message an agent marked "bot misunderstood"
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("touchpoint_id", sa.BigInteger),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    )
    create_table_if_missing(
        "training_changes",  # every example taught, moved or removed: who, when, what, and its undo
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),  # console | inbox | import | cli | faq | undo
        sa.Column("kind", sa.String(16), nullable=False),  # add | move | remove | faq | undo
        sa.Column("intent", sa.String(64)),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("previous_intents", sa.JSON),  # intents the text was taken from (a move, a removal)
        sa.Column("file", sa.String(255)),
        sa.Column("undo_of", sa.Integer),  # the change this one undid
        sa.Column("undone_by", sa.Integer),  # the change that undid this one
        sa.Column("detail", sa.JSON),
    )


def downgrade() -> None:
    for table in ("training_changes", "nlu_flags", "nlu_reviews"):
        op.drop_table(table)
