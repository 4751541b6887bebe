"""The JSON contract of a shop's order API (docs/orders-api.md), both directions.

Money travels as strings ("59.90"), times as ISO 8601. Shared by the HTTP backend and by
the test server, so both sides of the contract are the same code.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from decimal import Decimal
from typing import Any, Dict, Optional, Type

from bot.orders.base import Address, ChangeResult, Customer, Item, Order, Refund


def _time(value: Optional[str], kind: Type[dt.date] = dt.datetime) -> Any:
    return kind.fromisoformat(value) if value else None


def order_to_json(order: Order) -> Dict[str, Any]:
    data = asdict(order)
    for key, value in list(data.items()):
        if isinstance(value, (dt.date, dt.datetime)):
            data[key] = value.isoformat()
        elif isinstance(value, Decimal):
            data[key] = str(value)
    data["items"] = [{**asdict(i), "unit_price": str(i.unit_price)} for i in order.items]
    if order.refund:
        r = order.refund
        data["refund"] = {"amount": str(r.amount), "status": r.status, "requested_at": r.requested_at.isoformat(),
                          "expected_at": r.expected_at.isoformat() if r.expected_at else None,
                          "refunded_at": r.refunded_at.isoformat() if r.refunded_at else None}
    return data


def order_from_json(data: Dict[str, Any]) -> Order:
    refund = data.get("refund")
    return Order(
        number=str(data["number"]), customer_id=str(data["customer_id"]), email=data["email"], status=data["status"],
        placed_at=_time(data["placed_at"]), total=Decimal(data["total"]), currency=data.get("currency", "EUR"),
        items=[Item(i["sku"], i["name"], int(i["quantity"]), Decimal(i["unit_price"])) for i in data.get("items", [])],
        address=Address(**data["address"]),
        carrier=data.get("carrier"), tracking_number=data.get("tracking_number"),
        shipped_at=_time(data.get("shipped_at")), delivered_at=_time(data.get("delivered_at")),
        expected_delivery=_time(data.get("expected_delivery"), dt.date), cancelled_at=_time(data.get("cancelled_at")),
        refund=Refund(Decimal(refund["amount"]), refund["status"], _time(refund["requested_at"]),
                      _time(refund.get("expected_at"), dt.date), _time(refund.get("refunded_at"))) if refund else None,
        invoice_number=data.get("invoice_number"),
    )


def change_to_json(result: ChangeResult) -> Dict[str, Any]:
    return {"outcome": result.outcome, "reason": result.reason, "fee": str(result.fee), "order": order_to_json(result.order)}


def change_from_json(data: Dict[str, Any]) -> ChangeResult:
    if data.get("outcome") not in ("done", "already", "refused"):
        raise ValueError(f"unknown outcome {data.get('outcome')!r}")
    return ChangeResult(data["outcome"], order_from_json(data["order"]), data.get("reason", ""), Decimal(data.get("fee", "0")))


def customer_to_json(customer: Customer) -> Dict[str, Any]:
    return asdict(customer)


def customer_from_json(data: Dict[str, Any]) -> Customer:
    return Customer(str(data["id"]), str(data.get("name") or ""), str(data.get("email") or ""))
