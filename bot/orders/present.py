"""How orders are put into words for the visitor: pure functions filling the domain responses' placeholders."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping, Optional

from bot.orders.base import Order, is_late

MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0}  # currencies without cents (ISO 4217); the rest have two
STATUS_WORDS = {"shipped": "shipped", "delivered": "been delivered", "returned": "been returned", "cancelled": "been cancelled"}


def money(amount: Decimal, currency: str = "EUR") -> str:
    """An amount as the shop shows prices, "23.90 EUR": the currency's decimals, half a cent rounded up.
    The one formatter for the bot's answers and the agent console."""
    places = MINOR_UNITS.get((currency or "").upper(), 2)
    value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value} {currency}"


def day(value: Optional[dt.date]) -> str:
    if value is None:
        return "soon"
    value = value.date() if isinstance(value, dt.datetime) else value
    return f"{value.strftime('%A')}, {value.day} {value.strftime('%B')}"


def fee_line(order: Order, fee: Decimal) -> str:
    charged = order.cancellation_fee(fee)
    if order.status not in ("pending", "paid", "packed"):
        return f"It has {STATUS_WORDS.get(order.status, order.status)}, so it can't be cancelled; returns are free."
    if charged:
        return f"It's already packed, so cancelling costs {money(charged, order.currency)}."
    return "Cancelling it is free."


def status_values(order: Order, facts: Mapping[str, object]) -> dict:
    refund = order.refund
    refund_line = (f"The refund of {money(refund.amount, order.currency)} is {refund.status}."
                   if refund else "The refund is being prepared.")
    return {
        "number": order.number, "items": order.summary(), "placed": day(order.placed_at),
        "shipped": day(order.shipped_at), "carrier": order.carrier or "our carrier",
        "tracking": order.tracking_number or "not available yet", "expected": day(order.expected_delivery),
        "delivered": day(order.delivered_at), "cancelled": day(order.cancelled_at), "refund_line": refund_line,
        "total": money(order.total, order.currency), "status_word": STATUS_WORDS.get(order.status, order.status),
        "return_days": facts.get("return_days"), "refund_days": facts.get("refund_days"),
        "free_cancel_window": facts.get("free_cancel_window"), "returns_url": facts.get("returns_url"),
    }


def status_phrase(order: Order, today: dt.date) -> str:
    if order.status == "shipped" and order.shipped_at:
        when = "yesterday" if (today - order.shipped_at.date()).days == 1 else f"on {day(order.shipped_at)}"
        due = "was due by" if is_late(order, today) else "should arrive by"  # a greeting must not promise the past
        return f"shipped {when} with {order.carrier} and {due} {day(order.expected_delivery)}"
    if order.status == "delivered":
        return f"was delivered on {day(order.delivered_at)}"
    return {"pending": "is waiting for payment", "paid": "is being prepared",
            "packed": "is packed and ships soon"}.get(order.status, f"is {order.status}")


def history_lines(orders: Iterable[Order]) -> str:
    return "\n".join(
        f"- #{o.number}, {day(o.placed_at)}: {o.summary()}, {money(o.total, o.currency)}, {o.status}" for o in orders
    )


def order_button(order: Order, intent: str) -> dict:
    return {"title": f"#{order.number} {order.summary()[:30]} ({order.status})",
            "payload": f'/{intent}{{"order_number": "{order.number}"}}'}


def first_name(full_name: Optional[str]) -> str:
    """How a greeting addresses a customer: the first word of the name on their order ("" if none)."""
    words = (full_name or "").split()
    return words[0][:40] if words else ""


def tracking_link(order: Order, facts: Mapping[str, object]) -> str:
    """The carrier's page for this parcel (shop/facts.yml tracking_urls), else the order's page in the shop."""
    template = (facts.get("tracking_urls") or {}).get(order.carrier or "")
    if template and order.tracking_number:
        return str(template).replace("{tracking}", order.tracking_number)
    return f"{facts.get('orders_url')}/{order.number}"
