"""How orders are put into words for the visitor: pure functions filling the domain responses' placeholders."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping, Optional, Tuple, cast

from bot.orders.base import CANCELLABLE, Order, is_late

MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0}  # currencies without cents (ISO 4217); the rest have two


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


def cancel_terms(order: Order, fee: Decimal) -> Tuple[str, Decimal]:
    """What cancelling this order means, for choosing the response: "free", a "fee" (and how much), or
    "too_late" (it has shipped or is done; returns are free)."""
    charged = order.cancellation_fee(fee)
    if order.status not in CANCELLABLE:
        return "too_late", charged
    return ("fee" if charged else "free"), charged


def status_values(order: Order, facts: Mapping[str, object]) -> dict:
    refund = order.refund
    return {
        "number": order.number, "items": order.summary(), "placed": day(order.placed_at),
        "shipped": day(order.shipped_at), "carrier": order.carrier or "our carrier",
        "tracking": order.tracking_number or "not available yet", "expected": day(order.expected_delivery),
        "delivered": day(order.delivered_at), "cancelled": day(order.cancelled_at),
        "refund_amount": money(refund.amount, order.currency) if refund else None,
        "refund_status": refund.status if refund else None,
        "total": money(order.total, order.currency), "status_word": order.status,  # for a status without a response of its own
        "return_days": facts.get("return_days"), "refund_days": facts.get("refund_days"),
        "free_cancel_window": facts.get("free_cancel_window"), "returns_url": facts.get("returns_url"),
    }


def greeting_state(order: Order, today: dt.date) -> str:
    """Which state the greeting tells: "shipped" or "shipped_yesterday" (with "_late" once its day has passed:
    a greeting must not promise the past), "delivered", "pending", "paid", "packed", or "other"."""
    if order.status == "shipped" and order.shipped_at:
        shipped = "shipped_yesterday" if (today - order.shipped_at.date()).days == 1 else "shipped"
        return f"{shipped}_late" if is_late(order, today) else shipped
    return order.status if order.status in ("delivered", "pending", "paid", "packed") else "other"


def greeting_values(order: Order) -> dict:
    """The placeholders of the greeting responses (the carrier as the order has it, as the greeting always said)."""
    return {"number": order.number, "items": order.summary(), "carrier": order.carrier, "shipped": day(order.shipped_at),
            "expected": day(order.expected_delivery), "delivered": day(order.delivered_at), "status": order.status}


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
    urls = cast(Mapping[str, object], facts.get("tracking_urls") or {})  # carrier -> URL template
    template = urls.get(order.carrier or "")
    if template and order.tracking_number:
        return str(template).replace("{tracking}", order.tracking_number)
    return f"{facts.get('orders_url')}/{order.number}"
