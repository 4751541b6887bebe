"""An activation's state, so the log is written before the model is installed: pending (row written, file not
yet replaced), installed (current.tar.gz replaced, replicas loading), done (every replica loaded it), failed (a
replica did not: the previous model was put back), partial (a replica did not and there was nothing to put back).
Rows written before this revision were written at the end, so they are done.

Revision ID: models_0002
Revises: models_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "models_0002"
down_revision = "models_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_activations") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="done"))


def downgrade() -> None:
    with op.batch_alter_table("model_activations") as batch:
        batch.drop_column("state")
