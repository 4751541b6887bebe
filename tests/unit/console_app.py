"""The console app served in the test's own event loop on a free loopback port, with the session's real Redis
and SQLite files of its own, and clients that sign in as the console's pages do.

This is what Sanic's test client does (a real server on a port, real HTTP); sanic-testing is not a dependency.
The Redis is shared with the rest of the run, so everything here is named uniquely and nothing is flushed.
"""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Optional, Tuple

import aiohttp
from aiohttp import web
from sanic import Sanic

from bot import redis_keys as keys
from bot.console.app import create_app
from bot.handoff.presence import streams_key, wanted_key
from bot.handoff.queue import Handoff, agent_key, chats_key, conv_key, presence_key
from bot.settings import Settings
from tests.conftest import ADMIN_PASSWORD, free_port


class Client:
    """One browser: its own cookie jar, the CSRF token sign-in answered, and (optionally) its own loopback
    address, so per-address limits can be tried without touching 127.0.0.1's."""

    def __init__(self, base: str, address: str = "127.0.0.1") -> None:
        self.base, self.csrf = base, ""
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: cookies for an IP host
                                          connector=aiohttp.TCPConnector(local_addr=(address, 0), force_close=True))

    async def login(self, username: str, password: str) -> Tuple[int, Any]:
        status, data = await self.call("POST", "/api/login", {"username": username, "password": password})
        if status == 200:
            self.csrf = data["csrf"]
        return status, data

    async def call(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        async with self.http.request(method, self.base + path, json=body, headers={"X-CSRF-Token": self.csrf}) as resp:
            return resp.status, await resp.json(content_type=None)

    def stream(self, path: str = "/api/events"):
        return self.http.get(self.base + path, timeout=aiohttp.ClientTimeout(total=None, sock_read=None))

    async def close(self) -> None:
        await self.http.close()


# the harness's own users sign in from a loopback address of its own: other tests' failed sign-ins from 127.0.0.1
# stay in a shared Redis (CI) for 15 minutes, and a test with a low per-address limit would refuse them for those
HARNESS_ADDRESS = "127.0.0.9"


class ServedConsole:
    def __init__(self, app: Sanic, base: str) -> None:
        self.app, self.base = app, base
        self.clients: list = []
        self.usernames: list = []
        self.conversations: list = []

    @property
    def ctx(self):
        return self.app.ctx

    def client(self, address: str = "127.0.0.1") -> Client:
        self.clients.append(Client(self.base, address))
        return self.clients[-1]

    async def admin(self) -> Client:
        admin = self.client(HARNESS_ADDRESS)
        status, data = await admin.login("admin", ADMIN_PASSWORD)
        assert status == 200, data
        return admin

    async def user(self, role: str = "agent", **fields: Any) -> Tuple[Client, dict]:
        """A new user (made by the admin, named uniquely) signed in: (their client, their public record)."""
        admin = await self.admin()
        username = f"{role[:1]}{uuid.uuid4().hex[:10]}"
        password = f"{username}-password"
        status, made = await admin.call("POST", "/api/users", {"username": username, "password": password,
                                                               "role": role, **fields})
        assert status == 201, made
        self.usernames.append(username)
        client = self.client(HARNESS_ADDRESS)
        status, data = await client.login(username, password)
        assert status == 200, data
        return client, made["user"]

    async def handoff(self, team: str = "general", **fields: Any) -> str:
        """A conversation waiting in the queue for `team` (and the Handoff's other `fields`); its id."""
        cid = f"test-{uuid.uuid4().hex}"
        self.conversations.append(cid)
        await self.ctx.queue.enqueue(Handoff(cid, team=team, **fields))
        return cid

    async def forget(self) -> None:
        """The queue's record of this test's agents and conversations, so the rest of the run never meets them."""
        redis = self.ctx.queue.redis
        for username in self.usernames:
            await redis.srem(keys.HANDOFF_AGENTS, username)
            await redis.delete(agent_key(username), presence_key(username), chats_key(username),
                               wanted_key(username), streams_key(username))
        if self.conversations:
            await redis.zrem(keys.HANDOFF_WAITING, *self.conversations)
            await redis.delete(*[conv_key(cid) for cid in self.conversations])


@contextlib.asynccontextmanager
async def rasa_trackers(calls: Optional[list] = None,
                        events: Optional[Callable[[str], list]] = None) -> AsyncIterator[str]:
    """Rasa's conversation endpoints the console calls: the tracker, answering one visitor turn for any
    conversation (or `events(cid)`; the console's transcript reads need no model), and appending events and
    triggering an intent, which answer {} and are noted in `calls` as (path, body). Yields the base URL to give the
    console as rasa_api_url_override."""
    async def tracker(request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        said = events(cid) if events else [{"event": "user", "text": "where is my parcel?", "timestamp": 1.0}]
        return web.json_response({"sender_id": cid, "slots": {}, "paused": True, "events": said})

    async def noted(request: web.Request) -> web.Response:
        if calls is not None:
            calls.append((request.path, await request.json()))
        return web.json_response({})

    async def hello(_: web.Request) -> web.Response:  # Rasa's root, which the console's /readyz asks
        return web.Response(text="Hello from Rasa: 3.6.21")

    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/conversations/{cid}/tracker", tracker)
    app.router.add_post("/conversations/{cid}/tracker/events", noted)
    app.router.add_post("/conversations/{cid}/trigger_intent", noted)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def console_settings(var_dir: Path, redis_url: str, **overrides: Any) -> Settings:
    return Settings(redis_url=redis_url, var_dir=var_dir, console_admin_password=ADMIN_PASSWORD, demo_data=False,
                    rasa_port=free_port(), handoff_max_wait=24 * 3600, **overrides)


@contextlib.asynccontextmanager
async def served(var_dir: Path, redis_url: str, settings: Optional[Settings] = None,
                 **overrides: Any) -> AsyncIterator[ServedConsole]:
    """A fresh console app (Sanic's guide: one per test) serving on a free port until the block ends."""
    Sanic.test_mode = True  # every test makes an app of the same name
    app = create_app(settings or console_settings(var_dir, redis_url, **overrides))
    port = free_port()
    # create_server binds the port (it awaits the asyncio server); the listeners then fill app.ctx
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    console = ServedConsole(app, f"http://127.0.0.1:{port}")
    try:
        yield console
    finally:
        for client in console.clients:
            await client.close()
        await console.forget()
        await server.before_stop()
        for connection in list(server.connections):
            connection.close_if_idle() or connection.abort()
        server.close()
        await server.wait_closed()
        await server.after_stop()
        await ended(app.ctx.watcher, app.ctx.housekeeping)


async def ended(*tasks: asyncio.Task) -> None:
    """The app's background tasks, cancelled at stop, seen to end: a cancel that lands inside a Redis call can be
    lost (the watcher then goes on to its next tick), and a task still running when the test's loop closes makes
    asyncio.run wait for it forever. So cancel again until they are done."""
    for _ in range(100):
        if all(task.done() for task in tasks):
            return
        for task in tasks:
            task.cancel()
        await asyncio.sleep(0.05)
