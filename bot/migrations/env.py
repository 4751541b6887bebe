"""Alembic environment for the bot database's own tables (run through bot.migrations.upgrade)."""
from alembic import context

from bot import db
from bot.migrations import VERSION_TABLE


def owners_metadata() -> list:
    """Every owner's tables, for `alembic revision --autogenerate`."""
    from bot.console.users import metadata as users
    from bot.handoff.tables import metadata as handoff
    from bot.orders.sql import Base
    from bot.touchpoints.privacy import metadata as privacy

    return [users, handoff, privacy, Base.metadata]


db.run_migrations(context, owners_metadata(), VERSION_TABLE)
