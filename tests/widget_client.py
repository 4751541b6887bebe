"""A visitor's browser as the widget channel sees it: a real socket.io client that records every event it receives.

Used by the channel's unit tests (tests/unit/widget_server.py, no Rasa) and its integration tests (the whole stack).
"""
import asyncio
import contextlib
import uuid

import socketio

from bot.channels import WIDGET_SOCKET_CHANNEL

TIMEOUT = 20


class Visitor:
    def __init__(self, settings, origin=None, timeout=TIMEOUT):
        self.timeout = timeout
        self.url = settings.rasa_url
        self.origin = origin or settings.allowed_origins[0]
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events = []
        self.session_id = None
        self.sio.on("*", self._record)

    async def _record(self, event, data=None):
        self.events.append((event, data))

    async def connect(self):
        await self.sio.connect(self.url, headers={"Origin": self.origin}, socketio_path="/socket.io", wait_timeout=TIMEOUT,
                               transports=["websocket"])
        return self

    async def start(self, **session):
        await self.sio.emit("session_request", session)
        token = await self.wait_for("session_token")
        self.session_id = token["session_id"]
        return token["session_id"], token["session_token"]

    async def settled(self, redis_url):
        """Everything published to this visitor's room before now has arrived: a probe sent after it through the
        same Redis channel, which the channel's one listener delivers in order, is waited for."""
        probe = f"probe-{uuid.uuid4().hex}"
        outsider = socketio.AsyncRedisManager(redis_url, channel=WIDGET_SOCKET_CHANNEL, write_only=True)
        await outsider.emit("probe", probe, room=self.session_id)
        for _ in range(int(self.timeout / 0.05)):
            if ("probe", probe) in self.events:
                return self.events.index(("probe", probe))
            await asyncio.sleep(0.05)
        raise AssertionError(f"the probe did not reach {self.session_id} within {self.timeout}s")

    async def wait_for(self, event, after=0, timeout=None):
        timeout = timeout or self.timeout
        for _ in range(int(timeout / 0.05)):
            for name, data in self.events[after:]:
                if name == event:
                    return data
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {event!r} within {timeout}s; got {[e for e, _ in self.events]}")

    async def say(self, text, **extra):
        """Send a message; return what came back once the bot stopped typing, or the notice refusing it."""
        return await self.send(text, {"message": text, **extra})

    async def send(self, what, *frame, event="user_uttered"):
        """Send any frame (even a malformed one); return the answers or the notice it got."""
        mark = len(self.events)
        await self.sio.emit(event, *frame)
        for _ in range(int(self.timeout / 0.05)):
            got = self.events[mark:]
            if any(n == "notice" for n, _ in got) or any(n == "typing" and d == {"on": False, "who": "bot"} for n, d in got):
                return [d for n, d in got if n in ("bot_uttered", "notice")]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no answer to {what!r} within {self.timeout}s; got {[e for e, _ in self.events[mark:]]}")

    def names(self, after=0):
        return [n for n, _ in self.events[after:]]

    async def close(self):
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
