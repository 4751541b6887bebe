"""How orders are put into words for the visitor: pure functions filling the domain responses' placeholders."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping, Optional, Tuple, cast

from bot.orders.base import CANCELLABLE, Order, is_late
from bot.orders.wording import Wording, default_wording

MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0}  # currencies without cents (ISO 4217); the rest have two


def money(amount: Decimal, currency: str = "EUR") -> str:
    """An amount as the shop shows prices, "23.90 EUR": the currency's decimals, half a cent rounded up.
    The one formatter for the bot's answers and the agent console."""
    places = MINOR_UNITS.get((currency or "").upper(), 2)
    value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value} {currency}"


def day(value: Optional[dt.date], wording: Optional[Wording] = None) -> str:
    """A day as the answers write it, "Thursday, 3 December" ("soon" if not known yet). Without a wording, the
    domain files' (the agent console's calls)."""
    return (wording or default_wording()).day(value)


def items(order: Order, wording: Optional[Wording] = None) -> str:
    """What is in the order, "2 x Mug, Lamp, Tea and 2 more": the first three items, then how many besides."""
    words = wording or default_wording()
    names = ", ".join(words.item_quantity.format(quantity=i.quantity, name=i.name) if i.quantity > 1 else i.name
                      for i in order.items[:3])
    more = len(order.items) - 3
    return words.items_more.format(items=names, more=more) if more > 0 else names


def cancel_terms(order: Order, fee: Decimal) -> Tuple[str, Decimal]:
    """What cancelling this order means, for choosing the response: "free", a "fee" (and how much), or
    "too_late" (it has shipped or is done; returns are free)."""
    charged = order.cancellation_fee(fee)
    if order.status not in CANCELLABLE:
        return "too_late", charged
    return ("fee" if charged else "free"), charged


def status_values(order: Order, facts: Mapping[str, object], wording: Wording) -> dict:
    refund = order.refund
    return {
        "number": order.number, "items": items(order, wording), "placed": wording.day(order.placed_at),
        "shipped": wording.day(order.shipped_at), "carrier": order.carrier or wording.our_carrier,
        "tracking": order.tracking_number or wording.tracking_pending, "expected": wording.day(order.expected_delivery),
        "delivered": wording.day(order.delivered_at), "cancelled": wording.day(order.cancelled_at),
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


def greeting_values(order: Order, wording: Wording) -> dict:
    """The placeholders of the greeting responses (the carrier as the order has it, as the greeting always said)."""
    return {"number": order.number, "items": items(order, wording), "carrier": order.carrier,
            "shipped": wording.day(order.shipped_at), "expected": wording.day(order.expected_delivery),
            "delivered": wording.day(order.delivered_at), "status": order.status}


def history_lines(orders: Iterable[Order], wording: Wording) -> str:
    return "\n".join(wording.history_line.format(number=o.number, day=wording.day(o.placed_at), items=items(o, wording),
                                                 total=money(o.total, o.currency), status=o.status) for o in orders)


def order_button(order: Order, intent: str, wording: Wording) -> dict:
    return {"title": wording.order_button.format(number=order.number, items=items(order, wording)[:30], status=order.status),
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
