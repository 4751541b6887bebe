"""The demo shop's orders in SQL (SQLite by default, PostgreSQL via DATABASE_URL).

Changes are single conditional UPDATEs (`... WHERE status IN (...)`): atomic under concurrency,
and asking twice finds the change already made instead of making it again.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import declarative_base, relationship, selectinload, sessionmaker

from bot import db
from bot.migrations import upgrade
from bot.orders.base import (
    CANCELLABLE,
    Address,
    ChangeResult,
    Customer,
    Item,
    Order,
    OrdersBackend,
    OrdersUnavailable,
    Refund,
    validate_address,
)

Base: Any = declarative_base()  # sqlalchemy 1.4 ships no types: its classes are Any here


class Money(sa.types.TypeDecorator):
    """Decimal amounts stored as integer cents: exact on every database, SQLite included."""
    impl = sa.Integer
    cache_ok = True

    def process_bind_param(self, value: Optional[Decimal], dialect: Any) -> Optional[int]:
        return None if value is None else int((Decimal(value) * 100).to_integral_value())

    def process_result_value(self, value: Optional[int], dialect: Any) -> Optional[Decimal]:
        return None if value is None else Decimal(value) / 100


MONEY = Money()


class CustomerRow(Base):
    __tablename__ = "shop_customers"
    id = sa.Column(sa.String(32), primary_key=True)
    email = sa.Column(sa.String(254), nullable=False, unique=True)
    name = sa.Column(sa.String(120), nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False)


class OrderRow(Base):
    __tablename__ = "shop_orders"
    number = sa.Column(sa.String(16), primary_key=True)
    customer_id = sa.Column(sa.String(32), sa.ForeignKey("shop_customers.id"), nullable=False, index=True)
    email = sa.Column(sa.String(254), nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    placed_at = sa.Column(sa.DateTime, nullable=False, index=True)
    total = sa.Column(MONEY, nullable=False)
    currency = sa.Column(sa.String(3), nullable=False, default="EUR")
    ship_name = sa.Column(sa.String(120), nullable=False)
    ship_street = sa.Column(sa.String(120), nullable=False)
    ship_postcode = sa.Column(sa.String(16), nullable=False)
    ship_city = sa.Column(sa.String(80), nullable=False)
    ship_country = sa.Column(sa.String(2), nullable=False)
    carrier = sa.Column(sa.String(16))
    tracking_number = sa.Column(sa.String(40))
    shipped_at = sa.Column(sa.DateTime)
    delivered_at = sa.Column(sa.DateTime)
    expected_delivery = sa.Column(sa.Date)
    cancelled_at = sa.Column(sa.DateTime)
    cancellation_fee = sa.Column(MONEY)
    invoice_number = sa.Column(sa.String(24))
    items = relationship("ItemRow", lazy="selectin", order_by="ItemRow.id")
    refund = relationship("RefundRow", uselist=False, lazy="selectin")


class ItemRow(Base):
    __tablename__ = "shop_order_items"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    order_number = sa.Column(sa.String(16), sa.ForeignKey("shop_orders.number"), nullable=False, index=True)
    sku = sa.Column(sa.String(24), nullable=False)
    name = sa.Column(sa.String(120), nullable=False)
    quantity = sa.Column(sa.Integer, nullable=False)
    unit_price = sa.Column(MONEY, nullable=False)


class RefundRow(Base):
    __tablename__ = "shop_refunds"
    # one refund per order: a second request finds the first (unique), never a second payout
    order_number = sa.Column(sa.String(16), sa.ForeignKey("shop_orders.number"), primary_key=True)
    amount = sa.Column(MONEY, nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    requested_at = sa.Column(sa.DateTime, nullable=False)
    expected_at = sa.Column(sa.Date)
    refunded_at = sa.Column(sa.DateTime)


def _order(row: OrderRow) -> Order:
    refund = row.refund
    return Order(
        number=row.number, customer_id=row.customer_id, email=row.email, status=row.status,
        placed_at=row.placed_at, total=Decimal(row.total), currency=row.currency,
        items=[Item(i.sku, i.name, i.quantity, Decimal(i.unit_price)) for i in row.items],
        address=Address(row.ship_name, row.ship_street, row.ship_postcode, row.ship_city, row.ship_country),
        carrier=row.carrier, tracking_number=row.tracking_number, shipped_at=row.shipped_at,
        delivered_at=row.delivered_at, expected_delivery=row.expected_delivery, cancelled_at=row.cancelled_at,
        refund=Refund(Decimal(refund.amount), refund.status, refund.requested_at, refund.expected_at, refund.refunded_at)
        if refund else None,
        invoice_number=row.invoice_number,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


class SqlOrders(OrdersBackend):
    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = db.hold(url, **engine_options)  # the shared engine, unless options ask for another
        self.session = sessionmaker(self.engine, future=True, expire_on_commit=False)

    def create_schema(self) -> None:
        upgrade(self.url, "shop")

    def close(self) -> None:
        db.release(self.engine)

    def _guard(self, error: SQLAlchemyError) -> OrdersUnavailable:
        return OrdersUnavailable(f"order database error: {type(error).__name__}")

    def order(self, number: str) -> Optional[Order]:
        try:
            with self.session() as s:
                row = s.get(OrderRow, str(number))
                return _order(row) if row else None
        except SQLAlchemyError as err:
            raise self._guard(err) from err

    def recent_orders(self, customer_id: str, limit: int = 5) -> List[Order]:
        try:
            with self.session() as s:
                rows = s.execute(
                    sa.select(OrderRow).where(OrderRow.customer_id == customer_id)
                    .order_by(OrderRow.placed_at.desc()).limit(limit).options(selectinload(OrderRow.items))
                ).scalars().all()
                return [_order(r) for r in rows]
        except SQLAlchemyError as err:
            raise self._guard(err) from err

    def customer(self, customer_id: str) -> Optional[Customer]:
        try:
            with self.session() as s:
                row = s.get(CustomerRow, str(customer_id))
                return Customer(row.id, row.name, row.email) if row else None
        except SQLAlchemyError as err:
            raise self._guard(err) from err

    def _conditional_update(self, number: str, allowed: Sequence[str], values: Dict[str, Any]) -> bool:
        with self.session.begin() as s:
            result = s.execute(
                sa.update(OrderRow).where(OrderRow.number == number, OrderRow.status.in_(allowed)).values(**values)
            )
            return result.rowcount == 1

    def _still(self, number: str) -> Order:
        """The order read again after a change request: it was there before, and orders are never deleted."""
        order = self.order(number)
        assert order is not None, f"order {number} vanished"
        return order

    def cancel(self, number: str, fee: Decimal) -> ChangeResult:
        try:
            before = self.order(number)
            if before is None:
                raise KeyError(number)
            charged = before.cancellation_fee(fee)
            done = self._conditional_update(
                number, [before.status] if before.status in CANCELLABLE else [],
                {"status": "cancelled", "cancelled_at": _now(), "cancellation_fee": charged},
            )
            after = self._still(number)
        except SQLAlchemyError as err:
            raise self._guard(err) from err
        if done:
            return ChangeResult("done", after, fee=charged)
        if after.status == "cancelled":
            return ChangeResult("already", after)
        return ChangeResult("refused", after, reason=after.status)

    def change_address(self, number: str, address: Address) -> ChangeResult:
        address = validate_address(address)
        try:
            before = self.order(number)
            if before is None:
                raise KeyError(number)
            if before.address == address:
                return ChangeResult("already", before)
            done = self._conditional_update(number, CANCELLABLE, {
                "ship_name": address.name, "ship_street": address.street, "ship_postcode": address.postcode,
                "ship_city": address.city, "ship_country": address.country,
            })
            after = self._still(number)
        except SQLAlchemyError as err:
            raise self._guard(err) from err
        if done:
            return ChangeResult("done", after)
        return ChangeResult("refused", after, reason=after.status)

    def request_refund(self, number: str, return_days: int) -> ChangeResult:
        try:
            order = self.order(number)
            if order is None:
                raise KeyError(number)
            if order.refund is not None:
                return ChangeResult("already", order)
            if order.status != "delivered" or order.delivered_at is None:
                return ChangeResult("refused", order, reason=order.status)
            if (_now() - order.delivered_at).days > return_days:
                return ChangeResult("refused", order, reason="too_late")
            now = _now()
            with self.session.begin() as s:
                s.add(RefundRow(order_number=number, amount=order.total, status="requested", requested_at=now,
                                expected_at=(now + dt.timedelta(days=14)).date()))
            return ChangeResult("done", self._still(number))
        except sa.exc.IntegrityError:  # a concurrent request created it first
            return ChangeResult("already", self._still(number))
        except SQLAlchemyError as err:
            raise self._guard(err) from err
