"""A shop's own order API over HTTP (contract: docs/orders-api.md).

Timeouts on every call; GETs are retried on connection errors and 502/503/504 (safe:
they change nothing); changes are never retried here. Anything that goes wrong on
the way becomes OrdersUnavailable, which the bot explains to the visitor.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, List, Optional, Tuple
from urllib.parse import quote  # what requests.utils.quote is

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from bot.orders.base import Address, ChangeResult, Customer, Order, OrdersBackend, OrdersUnavailable, validate_address
from bot.orders.contract import change_from_json, customer_from_json, order_from_json

DEFAULT_CONNECT_TIMEOUT = 2.0


class HttpOrders(OrdersBackend):
    def __init__(self, base_url: str, token: str = "", read_timeout: float = 5.0, retries: int = 2) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout: Tuple[float, float] = (DEFAULT_CONNECT_TIMEOUT, read_timeout)
        self.session = requests.Session()
        retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=0.2,
                      status_forcelist=(502, 503, 504), allowed_methods=frozenset({"GET"}), raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Optional[requests.Response]:
        try:
            response = self.session.request(method, f"{self.base_url}{path}", timeout=self.timeout, **kwargs)
        except requests.RequestException as err:
            raise OrdersUnavailable(f"order API {method} {path}: {self._describe(err)}") from err
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise OrdersUnavailable(f"order API {method} {path}: HTTP {response.status_code}")
        return response

    def _describe(self, err: requests.RequestException) -> str:
        # behind a retry adapter a read timeout arrives as a ConnectionError wrapping urllib3's ReadTimeoutError
        reason = getattr(err.args[0], "reason", None) if err.args else None
        if isinstance(err, requests.Timeout) or isinstance(reason, ReadTimeoutError):
            return f"Timeout: no answer within {self.timeout[1]:g} s"
        return type(err).__name__

    def _decode(self, response: requests.Response, parse: Callable[[Any], Any]) -> Any:
        """The answer's JSON read by `parse`; malformed JSON or a shape outside the contract is OrdersUnavailable."""
        try:
            data = response.json()
        except ValueError as err:
            raise OrdersUnavailable(f"order API answered with malformed JSON: {err}") from err
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError) as err:
            raise OrdersUnavailable(f"order API answered outside the contract: {err}") from err

    def _change(self, path: str, body: dict) -> ChangeResult:
        response = self._call("POST", path, json=body)
        if response is None:
            raise KeyError(path)
        return self._decode(response, change_from_json)

    def order(self, number: str) -> Optional[Order]:
        response = self._call("GET", f"/orders/{quote(str(number), safe='')}")
        return None if response is None else self._decode(response, order_from_json)

    def recent_orders(self, customer_id: str, limit: int = 5) -> List[Order]:
        response = self._call("GET", f"/customers/{quote(customer_id, safe='')}/orders", params={"limit": limit})
        return [] if response is None else self._decode(response, lambda data: [order_from_json(o) for o in data])

    def customer(self, customer_id: str) -> Optional[Customer]:
        response = self._call("GET", f"/customers/{quote(customer_id, safe='')}")
        return None if response is None else self._decode(response, customer_from_json)

    def cancel(self, number: str, fee: Decimal) -> ChangeResult:
        return self._change(f"/orders/{number}/cancel", {"fee": str(fee)})

    def change_address(self, number: str, address: Address) -> ChangeResult:
        address = validate_address(address)
        return self._change(f"/orders/{number}/address", address.__dict__)

    def request_refund(self, number: str, return_days: int) -> ChangeResult:
        return self._change(f"/orders/{number}/refund", {"return_days": return_days})
