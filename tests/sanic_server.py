"""Serving a Sanic app for real inside a test's event loop (no sanic-testing), and probing any HTTP server with
a request whose body is announced but never sent."""
from __future__ import annotations

import contextlib
import socket
import time
from typing import AsyncIterator, Dict, Tuple
from urllib.parse import urlsplit

from sanic import Sanic

from tests.conftest import free_port


@contextlib.asynccontextmanager
async def serving(app: Sanic) -> AsyncIterator[str]:
    """The app listening on a free loopback port (its start and stop listeners run); yields its base URL."""
    # Sanic rewrites its HTTP code at each app's start, which works once per process unless in test mode
    # (as sanic-testing sets it); once on it stays on, for every later app in this process
    Sanic.test_mode = True
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    await server.start_serving()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


def announce(url: str, path: str, length: int, headers: Dict[str, str]) -> Tuple[int, str, float]:
    """POST the headers of a `length`-byte body and only 4 KB of it: (status, response body, seconds to the
    status line). A server that waits for the rest would time out here."""
    parts = urlsplit(url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}\r\nContent-Type: application/json\r\n{head}"
                      f"Content-Length: {length}\r\n\r\n").encode() + b"[" * 4096)
        answer = sock.makefile("rb")
        status = int(answer.readline().split()[1])
        seconds = time.monotonic() - started
        fields = dict(line.decode().strip().lower().split(": ", 1) for line in iter(answer.readline, b"\r\n"))
        return status, answer.read(int(fields.get("content-length", 0))).decode(), seconds
