"""A real Sanic request as a server would make it, on a stand-in connection with the peer address we choose."""
from __future__ import annotations

from typing import Dict, Optional

from sanic.compat import Header
from sanic.models.server_types import ConnInfo
from sanic.request import Request


class Connection:
    """What Sanic reads of a connection: its two ends."""

    def __init__(self, peer: str) -> None:
        self.extra = {"peername": (peer, 50123), "sockname": ("127.0.0.1", 5005)}

    def get_extra_info(self, name: str, default=None):
        return self.extra.get(name, default)


DEFAULT_PORT = 5005


def sanic_request(path: str, peer: str = "127.0.0.1", headers: Optional[Dict[str, str]] = None) -> Request:
    connection = Connection(peer)
    headers = {"Host": f"127.0.0.1:{DEFAULT_PORT}", **(headers or {})}  # every HTTP/1.1 request names its host
    request = Request(path.encode(), Header(headers), "1.1", "GET", connection, app=None)
    request.conn_info = ConnInfo(connection)
    return request
