"""Alembic environment for the touchpoint schema (run through bot.touchpoints.models.upgrade)."""
from alembic import context
from sqlalchemy import create_engine

from bot.touchpoints.models import metadata

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, version_table="touchpoints_alembic_version")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
