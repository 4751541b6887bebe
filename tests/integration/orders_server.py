"""A small order API for the tests, speaking docs/orders-api.md over real HTTP, backed by a SqlOrders.

`mode` makes it misbehave: "slow" (answers after `delay`), "error" (HTTP 500), "flaky" (503 on
every other request), "garbage" (malformed JSON).
"""
from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from bot.orders.base import Address, AddressInvalid
from bot.orders.contract import change_to_json, customer_to_json, order_to_json


class OrdersServer:
    def __init__(self, orders, token="test-token"):
        self.orders, self.token = orders, token
        self.mode, self.delay, self.requests = "ok", 0.0, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                server.requests += 1
                if server.mode == "slow":
                    time.sleep(server.delay)
                if server.mode == "error" or (server.mode == "flaky" and server.requests % 2 == 1):
                    return self._send(500 if server.mode == "error" else 503, {"error": "down"})
                if server.mode == "garbage":
                    return self._send(200, b"{not json")
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self._send(401, {"error": "unauthorised"})
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                try:
                    return self._send(200, server.route(method, parts, parse_qs(url.query), body))
                except KeyError:
                    return self._send(404, {"error": "not found"})
                except AddressInvalid as err:
                    return self._send(422, {"error": str(err)})

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, method, parts, query, body):
        if method == "GET" and parts[0] == "orders" and len(parts) == 2:
            order = self.orders.order(parts[1])
            if order is None:
                raise KeyError(parts[1])
            return order_to_json(order)
        if method == "GET" and parts[0] == "customers" and len(parts) == 2:
            customer = self.orders.customer(parts[1])
            if customer is None:
                raise KeyError(parts[1])
            return customer_to_json(customer)
        if method == "GET" and parts[0] == "customers" and parts[2:] == ["orders"]:
            return [order_to_json(o) for o in self.orders.recent_orders(parts[1], int(query.get("limit", ["5"])[0]))]
        if method == "POST" and parts[0] == "orders" and len(parts) == 3:
            number, action = parts[1], parts[2]
            if action == "cancel":
                return change_to_json(self.orders.cancel(number, Decimal(body["fee"])))
            if action == "address":
                return change_to_json(self.orders.change_address(number, Address(**body)))
            if action == "refund":
                return change_to_json(self.orders.request_refund(number, int(body["return_days"])))
        raise KeyError("/".join(parts))

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
