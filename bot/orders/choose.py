"""Which of a customer's orders a request can be about, and which one a product name picks.

Pure functions over Order values, so the rules of choosing are tested without a backend:
tracking offers what is on its way or just arrived (never cancelled or long-delivered orders),
a refund what was delivered within the return window, a cancellation or change what has not shipped.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Callable, Dict, Iterable, List, Set

from bot.orders.base import CANCELLABLE, Order

RECENTLY_DELIVERED_DAYS = 14  # a delivered order is still worth tracking this long (a missing item, a wrong address)


def _days_since_delivery(order: Order, today: dt.date) -> int:
    return (today - order.delivered_at.date()).days if order.delivered_at else 10**6


def _trackable(order: Order, today: dt.date, return_days: int) -> bool:
    return order.is_open or (order.status == "delivered" and _days_since_delivery(order, today) <= RECENTLY_DELIVERED_DAYS)


def _refundable(order: Order, today: dt.date, return_days: int) -> bool:
    return order.refund is not None or (order.status == "delivered" and _days_since_delivery(order, today) <= return_days)


FITS: Dict[str, Callable[[Order, dt.date, int], bool]] = {
    "track_order": _trackable,
    "get_refund": _refundable,
    "track_refund": lambda o, today, days: o.refund is not None,
    "cancel_order": lambda o, today, days: o.status in CANCELLABLE,
    "change_order": lambda o, today, days: o.status in CANCELLABLE,
    "change_shipping_address": lambda o, today, days: o.status in CANCELLABLE,
    "check_cancellation_fee": lambda o, today, days: o.status in CANCELLABLE,
    "get_invoice": lambda o, today, days: o.invoice_number is not None,
    "check_invoice": lambda o, today, days: o.invoice_number is not None,
}


def candidates(orders: Iterable[Order], intent: str, today: dt.date, return_days: int) -> List[Order]:
    """The orders this request can sensibly be about, newest first as given."""
    fits = FITS.get(intent, lambda o, t, d: o.status != "cancelled")
    return [o for o in orders if fits(o, today, return_days)]


WORD = re.compile(r"[^\W\d_]{3,}")
NOT_PRODUCT = {"the", "and", "with", "for", "pairs", "pair", "order", "one", "that", "this", "not", "mean", "meant"}


def _stems(text: str) -> Set[str]:
    """Lower-case words without a plural s, so "mugs" meets "mug" and "shoe" meets "shoes"."""
    words = (w.lower() for w in WORD.findall(text or ""))
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in NOT_PRODUCT}


def _match(order: Order, said: Set[str]) -> float:
    """How well the visitor's words name one of the order's items: the share of the item name's words they used."""
    best = 0.0
    for item in order.items:
        name = _stems(item.name)
        if name:
            best = max(best, len(name & said) / len(name))
    return best


def by_items(orders: Iterable[Order], text: str) -> List[Order]:
    """The orders whose items the text names best ("the running shoes order"); empty when it names none."""
    said = _stems(text)
    scored = [(o, _match(o, said)) for o in orders] if said else []
    top = max((score for _, score in scored), default=0.0)
    return [o for o, score in scored if score == top] if top > 0 else []
