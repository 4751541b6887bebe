"""The bot database's own tables (console users, handoff records, erasure requests, the demo shop), each
owner's schema a branch of Alembic revisions here: `users`, `handoff`, `privacy`, `shop`, `training` (the
NLU inbox's reviews and flags, the log of taught examples), `models` (the log of model activations). The touchpoints have
migrations of their own (bot/touchpoints/migrations), as they may live in another database.

The first revision of each branch makes only the tables that are missing, and later ones add only missing
columns: a database made before these migrations (by create_all, its columns added since by hand-written
ALTERs) is brought to the current revision in place, its rows kept."""
from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa

from bot import db

SCRIPTS = Path(__file__).resolve().parent
VERSION_TABLE = "bot_alembic_version"
BRANCHES = ("users", "handoff", "privacy", "shop", "training", "models")


@functools.lru_cache(maxsize=32)
def upgrade(url: str, branch: str) -> None:
    """Bring one owner's tables to their current revision (once per process and database)."""
    if branch not in BRANCHES:
        raise ValueError(f"no migrations for {branch!r}; there are {', '.join(BRANCHES)}")
    db.migrate(url, SCRIPTS, f"{branch}@head")


def create_table_if_missing(name: str, *columns: sa.Column) -> bool:
    """In a revision: make the table (with its indexes) unless it is there; True if it was made."""
    from alembic import op

    if sa.inspect(op.get_bind()).has_table(name):
        return False
    op.create_table(name, *columns)
    return True


def add_column_if_missing(table: str, column: sa.Column) -> None:
    """In a revision: add a nullable column unless it is there (older versions added it themselves)."""
    from alembic import op

    if column.name not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}:
        op.add_column(table, column)
