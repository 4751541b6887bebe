"""The agent console: a Sanic app factory. One blueprint per area; listeners fill app.ctx at start and close it
at stop (bot.console.context); every error answered in JSON by one handler per type (bot.console.errors)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

from sanic import Sanic
from sanic.request import Request
from sanic.response import BaseHTTPResponse

from bot.console import errors
from bot.console.blueprints import analytics, auth, conversations, ops, pages, privacy, queue, tickets, train
from bot.console.context import close_services, open_services, start_background, stop_background
from bot.proxies import sanic_config
from bot.settings import Settings

HERE = Path(__file__).resolve().parent
APP_NAME = "shopbot_console"
BLUEPRINTS = (pages.bp, ops.bp, auth.bp, queue.bp, conversations.bp, tickets.bp, analytics.bp, privacy.bp, train.bp)
SECURITY_HEADERS = {
    # no inline script, nothing from elsewhere: user text can never run as code here
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def create_app(settings: Settings) -> Sanic:
    app = Sanic(APP_NAME)
    app.config.REQUEST_MAX_SIZE = settings.max_request_bytes
    app.config.RESPONSE_TIMEOUT = 3600  # the event stream stays open; pings keep it alive
    app.config.update(sanic_config(settings))  # behind a proxy: request.remote_addr and .scheme as it forwards them
    app.ctx.settings = settings
    for blueprint in BLUEPRINTS:
        app.blueprint(blueprint)
    app.static("/static", str(HERE / "static"), name="static")
    errors.register(app)
    app.register_middleware(security_headers, "response")
    app.register_listener(start, "before_server_start")
    app.register_listener(stop, "after_server_stop")
    return app


async def start(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
    settings = app.ctx.settings
    open_services(app, settings)
    start_background(app, settings)


async def stop(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
    stop_background(app)
    await close_services(app)


async def security_headers(_request: Request, resp: Optional[BaseHTTPResponse]) -> None:
    if resp is not None:
        for key, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(key, value)


def serve(settings: Settings) -> None:
    app = create_app(settings)
    app.run(host=settings.host, port=settings.console_port, access_log=False, workers=1, motd=False)
