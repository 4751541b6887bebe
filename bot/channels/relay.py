"""Between a widget visitor and the agents while a person is involved: the visitor's messages go to the agents
live, "Stop waiting" takes the visitor out of the queue, and a reloaded page learns who has the chat."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Optional

import redis.asyncio as aioredis
import socketio
from rasa.core.channels.channel import UserMessage

from bot.handoff.queue import HandoffQueue, QueueUnavailable
from bot.handoff.rasa_api import RasaApi, RasaUnavailable
from bot.logsafe import loggable
from bot.metrics import ERRORS
from bot.settings import Settings
from bot.touchpoints.broker import record as record_touchpoint
from bot.touchpoints.events import handoff_row

logger = logging.getLogger(__name__)

MAX_RELAYED_CHARS = 4000
RETRY_FIRST_PAUSE = 0.25  # seconds before the handoff state is read again; each pause doubles
Notice = Callable[[str, str], Awaitable[None]]  # (socket id, notice code): tells the visitor
Turn = Callable[[UserMessage], Awaitable[Any]]  # hands a message to Rasa, in its conversation's turn


UNKNOWN = "unknown"  # the handoff state when Redis cannot say: never read as "no person involved"


async def handoff_state(queue: HandoffQueue, session_id: str) -> str:
    """'waiting'/'active' while a person is involved, '' when not, UNKNOWN when Redis cannot say (counted)."""
    try:
        return await queue.status(session_id)
    except QueueUnavailable as err:
        logger.warning("handoff state of %s unknown, Redis unavailable: %s", loggable(session_id), loggable(err))
        ERRORS.labels("widget", "handoff_unknown").inc()
        return UNKNOWN


class Relay:
    def __init__(self, sio: socketio.AsyncServer, queue: HandoffQueue, settings: Settings, notice: Notice) -> None:
        self.sio, self.queue, self.settings, self.notice = sio, queue, settings, notice
        self._rasa_api: Optional[RasaApi] = None  # to resume the bot when a visitor stops waiting

    async def handoff_state(self, session_id: str) -> str:
        return await handoff_state(self.queue, session_id)

    async def known_handoff_state(self, session_id: str, sid: str = "") -> Optional[str]:
        """The handoff state, retried (doubling pauses) for up to widget_handoff_retry_seconds while Redis cannot
        say; None if it never could. With `sid`, the visitor is told once that it is being retried."""
        pause, deadline = RETRY_FIRST_PAUSE, time.monotonic() + self.settings.widget_handoff_retry_seconds
        state = await self.handoff_state(session_id)
        if state == UNKNOWN and sid:
            await self.notice(sid, "handoff_unknown")
        while state == UNKNOWN and time.monotonic() < deadline:
            await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause *= 2
            state = await self.handoff_state(session_id)
        return None if state == UNKNOWN else state

    async def to_agent(self, message: UserMessage, shown: str, sid: str, in_turn: Turn) -> None:
        """While a person has (or is about to have) the conversation the bot is paused: the message goes to
        the agents live first, then into the transcript (Rasa records it without answering)."""
        try:
            await self.queue.publish("message", message.sender_id, sender="visitor", text=shown[:MAX_RELAYED_CHARS])
        except QueueUnavailable as err:  # still recorded below; the agent sees it on reload
            logger.warning("visitor message in %s not relayed live: %s", loggable(message.sender_id), loggable(err))
        try:
            await in_turn(message)
        except Exception:
            logger.exception("widget message for %s not recorded", loggable(message.sender_id))
            return await self.notice(sid, "error")
        await self.recorded(message.sender_id)

    async def recorded(self, session_id: str) -> None:
        """The transcript has the visitor's message now: a console that read it before (an agent opening the
        chat while Rasa was still recording) reads it again, as it does on any event of the conversation. Its
        live copy of the message covers that too, but only in a tab whose event stream was open at the time."""
        try:
            await self.queue.publish("recorded", session_id)
        except QueueUnavailable as err:
            logger.warning("consoles not told %s has a new message: %s", loggable(session_id), loggable(err))

    async def stop_waiting(self, session_id: str, sid: str) -> None:
        """The visitor pressed "Stop waiting": out of the queue, and the bot takes the conversation back."""
        try:
            handoff = await self.queue.get(session_id)
            left = await self.queue.leave(session_id, "left")
        except QueueUnavailable as err:
            logger.warning("%s could not leave the queue, Redis unavailable: %s", loggable(session_id), loggable(err))
            return await self.notice(sid, "error")
        if not left or handoff is None:  # someone took the chat meanwhile, or it was not waiting: say how it is
            return await self.tell_handoff_state(session_id, sid)
        record_touchpoint(handoff_row(handoff, "handoff_handed_back", actor="visitor", outcome="left",
                                      wait_seconds=round(time.time() - handoff.enqueued_at, 1)))
        await self.sio.emit("handoff", {"state": "left"}, room=session_id)
        try:
            await self.rasa_api().resume_and_continue(session_id, "handoff_left")
        except RasaUnavailable as err:
            logger.error("%s left the queue but the bot was not resumed: %s", loggable(session_id), loggable(err))
            await self.notice(sid, "error")

    async def tell_handoff_state(self, session_id: str, sid: str) -> None:
        """A reloaded page learns whether a person is involved (the console tells it only of changes)."""
        try:
            handoff = await self.queue.get(session_id)
            if handoff and handoff.status == "waiting":
                placement = await self.queue.placement(session_id)
                await self.sio.emit("handoff", {"state": "waiting", "position": placement.position,
                                                "eta_seconds": placement.eta_seconds}, to=sid)
            elif handoff and handoff.status == "active":
                # `resumed`: the header learns who has the chat; a "joined" line now would follow their replies
                await self.sio.emit("handoff", {"state": "active", "agent": handoff.agent_name, "resumed": True}, to=sid)
        except (QueueUnavailable, aioredis.RedisError) as err:  # the socket.io emit goes through Redis too
            logger.warning("handoff state of %s not told: %s", loggable(session_id), loggable(err))
            ERRORS.labels("widget", "handoff_unknown").inc()
            await self.notice(sid, "handoff_unknown")  # its next message waits for the state (known_handoff_state)

    def rasa_api(self) -> RasaApi:
        if self._rasa_api is None:  # made on first use, inside the server's event loop
            self._rasa_api = RasaApi(self.settings.rasa_api_url, self.settings.rasa_token)
        return self._rasa_api
