"""The widget channel served alone, in this process, on a free port, with a real Redis and an echo bot in Rasa's place.

The channel's own behaviour (sessions, limits, malformed frames, what reaches the bot) is tested here with real
socket.io clients, in a second or two and without a model; the integration tests cover it with Rasa behind it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import uuid
from typing import AsyncIterator, List

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

import bot.channels.widget as widget
from bot.settings import Settings
from tests.conftest import free_port
from tests.widget_client import Visitor

SECRET = "widget-test-secret"  # noqa: S105 (a test fixture)
VISITOR_TIMEOUT = 5  # seconds: here every answer is immediate
OFFERED = {"title": "Yes, a person please", "payload": "/affirm"}  # the echo bot offers this button every turn


class EchoBot:
    """What Rasa would be to the channel: hears each message (kept in `heard`) and answers with one button."""

    def __init__(self) -> None:
        self.heard: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.heard.append(message)
        await message.output_channel.send_text_with_buttons(message.sender_id, f"echo {message.text}", [OFFERED])


@dataclasses.dataclass
class Served:
    settings: Settings
    bot: EchoBot
    address: str  # every visitor's client address, as the channel's limits count it

    async def visitor(self) -> Visitor:
        return await Visitor(self.settings, timeout=VISITOR_TIMEOUT).connect()


@contextlib.asynccontextmanager
async def serve_widget(redis_url: str, monkeypatch, **overrides) -> AsyncIterator[Served]:
    port = free_port()
    settings = Settings(redis_url=redis_url, identity_secret=SECRET, rasa_port=port,
                        **{"widget_max_connections_per_ip": 1000, "widget_session_rate": 1000, **overrides})
    monkeypatch.setattr(widget, "get_settings", lambda: settings)
    # the visitors all come from loopback: one address of their own per server, so the per-address counts of
    # other tests (in the same Redis, within the same minute) are not this test's
    address = f"test-client-{uuid.uuid4().hex[:12]}"
    monkeypatch.setattr(widget, "client_address", lambda request, settings: address)
    bot = EchoBot()
    Sanic.test_mode = True  # as Sanic's own test client does: each app touches up the original handlers
    app = Sanic(f"widget_test_{uuid.uuid4().hex}")
    app.blueprint(widget.WidgetInput().blueprint(bot), url_prefix="/webhooks/widget")
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield Served(settings, bot, address)
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
