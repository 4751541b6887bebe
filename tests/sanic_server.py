"""A Sanic app served for real on a free loopback port inside the test's event loop (no sanic-testing)."""
from __future__ import annotations

import contextlib
import socket
from typing import AsyncIterator

from sanic import Sanic


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app: Sanic) -> AsyncIterator[str]:
    """The app listening (its start and stop listeners run); yields its base URL."""
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
