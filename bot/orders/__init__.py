"""Order data: the OrdersBackend interface, its plain data types, and two implementations
(SQL demo shop in bot.orders.sql, a shop's own HTTP API in bot.orders.http)."""
from bot.orders.base import (
    CANCELLABLE,
    Address,
    AddressInvalid,
    ChangeResult,
    Customer,
    Item,
    Order,
    OrdersBackend,
    OrdersUnavailable,
    Refund,
)

__all__ = [
    "CANCELLABLE", "Address", "AddressInvalid", "ChangeResult", "Customer", "Item", "Order", "OrdersBackend",
    "OrdersUnavailable", "Refund",
]
