"""Alembic environment for the touchpoint schema (run through bot.touchpoints.models.upgrade)."""
from alembic import context

from bot import db
from bot.touchpoints.models import metadata

db.run_migrations(context, metadata, "touchpoints_alembic_version")
