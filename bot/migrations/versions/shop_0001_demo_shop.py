"""The demo shop (bot.orders.sql), as create_all made it before migrations; money is integer cents.

Revision ID: shop_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from bot.migrations import create_table_if_missing

revision = "shop_0001"
down_revision = None
branch_labels = ("shop",)
depends_on = None


def upgrade() -> None:
    create_table_if_missing(
        "shop_customers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    create_table_if_missing(
        "shop_orders",
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("customer_id", sa.String(32), sa.ForeignKey("shop_customers.id"), nullable=False, index=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("placed_at", sa.DateTime, nullable=False, index=True),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        *[sa.Column(f"ship_{name}", sa.String(size), nullable=False)
          for name, size in (("name", 120), ("street", 120), ("postcode", 16), ("city", 80), ("country", 2))],
        sa.Column("carrier", sa.String(16)),
        sa.Column("tracking_number", sa.String(40)),
        sa.Column("shipped_at", sa.DateTime),
        sa.Column("delivered_at", sa.DateTime),
        sa.Column("expected_delivery", sa.Date),
        sa.Column("cancelled_at", sa.DateTime),
        sa.Column("cancellation_fee", sa.Integer),
        sa.Column("invoice_number", sa.String(24)),
    )
    create_table_if_missing(
        "shop_order_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_number", sa.String(16), sa.ForeignKey("shop_orders.number"), nullable=False, index=True),
        sa.Column("sku", sa.String(24), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.Integer, nullable=False),
    )
    create_table_if_missing(
        "shop_refunds",
        sa.Column("order_number", sa.String(16), sa.ForeignKey("shop_orders.number"), primary_key=True),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("expected_at", sa.Date),
        sa.Column("refunded_at", sa.DateTime),
    )


def downgrade() -> None:
    for name in ("shop_refunds", "shop_order_items", "shop_orders", "shop_customers"):
        op.drop_table(name)
