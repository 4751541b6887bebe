"""One orders backend per process, made on first use (never at import)."""
from __future__ import annotations

import functools

from bot.orders.base import OrdersBackend
from bot.settings import Settings, get_settings


def make_backend(settings: Settings) -> OrdersBackend:
    if settings.orders_api_url:
        from bot.orders.http import HttpOrders

        return HttpOrders(settings.orders_api_url, settings.orders_api_token, settings.orders_timeout)
    from bot.orders.sql import SqlOrders

    return SqlOrders(settings.sql_url)


@functools.lru_cache(maxsize=1)
def backend() -> OrdersBackend:
    return make_backend(get_settings())
