"""The chat widget's socket.io channel: Rasa's socket.io protocol, made safe for a public website.

Compatible with Rasa's protocol (`session_request` -> `session_confirm`, `user_uttered`,
`bot_uttered`), so existing Rasa socket.io clients work; on top of it:
- only allowed origins may connect (WIDGET_ORIGINS);
- session ids are random and come with a session token (HMAC of the id and of the signed-in
  customer, if any; bot.channels.sessions): resuming a session, and so reading its history, needs the token
  and the same identity. A page whose customer changed (logged in, out, or another one) gets a new session.
  Messages always go to the session this connection was given, whatever `session_id` the message names,
  and each must carry the identity the session was started with (else a `notice`: the page must reload);
- a typed "/intent" is text, not a command, unless it is a button the bot offered in this conversation,
  and the text agents see for a click is that button's title (bot.channels.offers);
- limits on message size, message rate per session and per address, session requests and connections
  per address (bot.channels.limits), each answered with a `notice` event, never a silent drop;
- every frame, however malformed, is processed or answered with a notice (bot.channels.frames);
- while a person is involved, messages go to the agents live (bot.channels.relay), one turn at a time per
  conversation (bot.channels.turns);
- rooms through Redis (python-socketio's AsyncRedisManager), so another process (the agent
  console) or another Rasa replica can reach the visitor.
The widget's files and the demo page are served beside it (bot.channels.demo_page).
"""
from __future__ import annotations

import functools
import logging
import secrets
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

import socketio
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request

from bot.channels import WIDGET_SOCKET_CHANNEL
from bot.channels.demo_page import add_page_routes
from bot.channels.frames import UNREADABLE, TolerantPacket, as_text, readable
from bot.channels.limits import Limits, LimitsUnavailable
from bot.channels.offers import OfferedPayloads
from bot.channels.relay import Relay
from bot.channels.sessions import message_metadata, page_identity, session_token, valid_session
from bot.channels.turns import Turns
from bot.handoff.queue import WAITING_STATES, HandoffQueue
from bot.logsafe import loggable
from bot.metrics import MESSAGES, TURN_SECONDS
from bot.proxies import client_address
from bot.rasa_stores import TrackerStoreUnavailable
from bot.redis_clients import RedisManager
from bot.responses import response_text
from bot.settings import Settings, get_settings
from bot.touchpoints.broker import record as record_touchpoint
from bot.touchpoints.events import error_row
from bot.tracker.transcript import history_from_events
from bot.turn_budget import budgeted

logger = logging.getLogger(__name__)

OPENING = "/greet"  # what widget.js sends to open a new session: a command the bot never offered as a button
MAX_SOCKET_FRAME_BYTES = 64 * 1024
NOTICES = {  # what the visitor is told when the channel does not pass a frame on: domain/notices.yml
    "too_long": "utter_notice_too_long", "rate_limited": "utter_notice_rate_limited",
    "malformed": "utter_notice_malformed", "no_session": "utter_notice_no_session", "error": "utter_notice_error",
    "no_answer": "utter_notice_no_answer", "identity_changed": "utter_notice_identity_changed",
    "too_many_sessions": "utter_notice_too_many_sessions", "unavailable": "utter_notice_unavailable",
    "handoff_unknown": "utter_notice_handoff_unknown", "not_delivered": "utter_notice_not_delivered",
    "not_saved": "utter_notice_not_saved", "not_saved_answered": "utter_notice_not_saved_answered",
}
TOO_MANY_CONNECTIONS = "utter_notice_too_many_connections"
Handler = Callable[[str, Any], Awaitable[None]]


class Refused(Exception):
    """A frame the channel does not pass on; `code` names the notice the visitor gets."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def refusal(code: str, notice: str) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connection whose reason the client reads as err.data {code, text} (a second argument: with one,
    python-socketio sends it as the message string, and the widget could not tell why)."""
    text = response_text(notice)
    return socketio.exceptions.ConnectionRefusedError(text, {"code": code, "text": text})


class WidgetOutput(SocketIOOutput):
    """Rasa's socket.io output, recording every button it sends (bot.channels.offers): a click on one is a
    command and shows as its title; anything else the visitor sends is text."""

    def __init__(self, sio: socketio.AsyncServer, bot_message_evt: str, offers: OfferedPayloads) -> None:
        super().__init__(sio, bot_message_evt)
        self.offers = offers

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]],
                                     **kwargs: Any) -> None:
        await self.offers.record(recipient_id, buttons)  # before the visitor can click
        await super().send_text_with_buttons(recipient_id, text, buttons, **kwargs)


class CountingOutput(WidgetOutput):
    """The widget's output, counting what it sends: a turn that sent nothing means something failed
    (Rasa logs a failed custom action and carries on silently), and the visitor should hear about it."""

    def __init__(self, sio: socketio.AsyncServer, bot_message_evt: str, offers: OfferedPayloads) -> None:
        super().__init__(sio, bot_message_evt, offers)
        self.sent = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        self.sent += 1
        await super().send_custom_json(recipient_id, json_message, **kwargs)


class WidgetInput(InputChannel):
    """The channel: `blueprint` makes the socket.io server and registers one small handler per client event."""

    @classmethod
    def name(cls) -> str:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return cls(**(credentials or {}))

    def __init__(self, socketio_path: str = "/socket.io", user_message_evt: str = "user_uttered",
                 bot_message_evt: str = "bot_uttered") -> None:
        self.socketio_path = socketio_path
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self._sio: Optional[socketio.AsyncServer] = None  # these six are made with the blueprint
        self._limits: Optional[Limits] = None
        self._offers: Optional[OfferedPayloads] = None
        self._relay: Optional[Relay] = None
        self._settings: Optional[Settings] = None
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None
        self.turns = Turns()

    # The parts blueprint() makes; the handlers it registers run only after it, so for them each is set.
    @property
    def sio(self) -> socketio.AsyncServer:
        assert self._sio is not None, "made by blueprint()"
        return self._sio

    @property
    def limits(self) -> Limits:
        assert self._limits is not None, "made by blueprint()"
        return self._limits

    @property
    def offers(self) -> OfferedPayloads:
        assert self._offers is not None, "made by blueprint()"
        return self._offers

    @property
    def relay(self) -> Relay:
        assert self._relay is not None, "made by blueprint()"
        return self._relay

    @property
    def settings(self) -> Settings:
        assert self._settings is not None, "made by blueprint()"
        return self._settings

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WidgetOutput(self._sio, self.bot_message_evt, self.offers) if self._sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self._settings = settings = get_settings()
        self._on_new_message = on_new_message
        for notice in (*NOTICES.values(), TOO_MANY_CONNECTIONS):  # a missing notice fails here, not in an error handler
            response_text(notice)
        manager = RedisManager(settings.redis.url(), channel=WIDGET_SOCKET_CHANNEL)
        manager.on_resubscribed = self.resync
        self._sio = sio = socketio.AsyncServer(
            async_mode="sanic", cors_allowed_origins=settings.allowed_origins, client_manager=manager,
            max_http_buffer_size=MAX_SOCKET_FRAME_BYTES, serializer=TolerantPacket)
        self._limits = Limits(settings)
        self._offers = OfferedPayloads(self.limits.redis)
        self._relay = Relay(sio, HandoffQueue.from_url(settings.redis.url()), settings, self.notice)
        blueprint = SocketBlueprint(sio, self.socketio_path, "widget_webhook", __name__)

        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        blueprint.route("/", methods=["GET"])(health)
        add_page_routes(blueprint, settings)
        sio.on("connect", self.connect)
        sio.on("disconnect", self.disconnect)
        sio.on("*", self.anything_else)
        sio.on("session_request", self.answered("session_request", self.session_request))
        sio.on("leave_queue", self.answered("leave_queue", self.leave_queue))
        sio.on(self.user_message_evt, self.answered(self.user_message_evt, self.handle_message))
        return blueprint

    def answered(self, event: str, handler: Handler) -> Callable[..., Awaitable[None]]:
        """A handler of one client event: called with exactly one data argument (None if the frame had
        none), and whatever it raises is logged and told, never left to the server's read loop."""
        @functools.wraps(handler)
        async def answered(sid: str, *args: Any) -> None:
            try:
                await handler(sid, args[0] if args else None)
            except Exception:
                logger.exception("widget %s frame from %r failed", event, sid)
                await self.notice(sid, "error")
        return answered

    async def notice(self, sid: str, code: str) -> None:
        text = response_text(NOTICES[code]).format(limit=self.settings.widget_max_message_bytes)
        await self.sio.emit("notice", {"code": code, "text": text}, to=sid)

    async def in_turn(self, message: UserMessage) -> Any:
        assert self._on_new_message is not None, "given to blueprint()"
        async with self.turns.of(message.sender_id):
            with budgeted(self.settings.turn_budget_seconds):  # before Rasa issues the lock's ticket
                return await self._on_new_message(message)

    async def connect(self, sid: str, environ: Dict, auth: Optional[Dict] = None) -> None:
        address = client_address(environ.get("sanic.request"), self.settings)  # behind a proxy: the one it names
        try:
            allowed = await self.limits.open_connection(address)
        except LimitsUnavailable:  # the widget tries again by itself (widget.js)
            raise refusal("unavailable", NOTICES["unavailable"]) from None
        if not allowed:
            logger.info("refused a widget connection from %s: too many", loggable(address))
            raise refusal("too_many_connections", TOO_MANY_CONNECTIONS)
        await self.sio.save_session(sid, {"address": address})

    async def disconnect(self, sid: str) -> None:
        session = await self.sio.get_session(sid)
        await self.limits.close_connection(session.get("address", "unknown"))

    async def anything_else(self, event: str, sid: str, *_: Any) -> None:
        what = "an undecodable frame" if event == UNREADABLE else f"an unknown event {str(event)[:40]!r}"
        logger.info("widget connection %r sent %s", sid, what)
        await self.notice(sid, "malformed")

    async def session_request(self, sid: str, data: Any) -> None:
        data = data if isinstance(data, dict) else {}
        session = await self.sio.get_session(sid)
        address = session.get("address", "unknown")
        try:
            allowed = await self.limits.allow_session(address)
        except LimitsUnavailable:  # the widget asks again in a moment (widget.js)
            return await self.notice(sid, "unavailable")
        if not allowed:  # else each new session would be a fresh start
            logger.info("refused a widget session from %s: too many", address)
            return await self.notice(sid, "too_many_sessions")
        secret = self.settings.identity_secret
        customer = page_identity(data, secret)  # another customer than the session's: a new session
        resumed = valid_session(data.get("session_id"), data.get("session_token"), secret, customer)
        session_id = data["session_id"] if resumed else secrets.token_urlsafe(18)
        if session.get("session_id") and session["session_id"] != session_id:
            await self.sio.leave_room(sid, session["session_id"])
        # every turn must carry this identity (see read_turn)
        await self.sio.save_session(sid, {**session, "session_id": session_id, "customer": customer})
        await self.limits.remember_address(session_id, address)
        await self.sio.enter_room(sid, session_id)
        await self.confirm_session(sid, session_id, customer, resumed)

    async def confirm_session(self, sid: str, session_id: str, customer: str, resumed: bool) -> None:
        """The page learns its session (and token); a resumed one gets its history and handoff state too."""
        token = session_token(session_id, self.settings.identity_secret, customer)
        await self.sio.emit("session_confirm", session_id, to=sid)
        await self.sio.emit("session_token", {"session_id": session_id, "session_token": token}, to=sid)
        if resumed:
            await self.sio.emit("history", {"messages": await self.history(session_id)}, to=sid)
            await self.relay.tell_handoff_state(session_id, sid)

    async def resync(self) -> None:
        """After this process missed Redis's live events (bot.redis_clients): each of its visitors gets the
        conversation and its handoff state again, which the widget shows in place of what it has."""
        rooms = self.sio.manager.rooms.get("/", {})
        for room, members in list(rooms.items()):
            sids = [sid for sid in list(members) if sid != room]  # each socket is also in a room of its own
            if room is None or not sids:
                continue
            try:
                messages = await self.stored_history(room)
            except Exception as err:  # keep what the widget shows rather than replace it with nothing
                logger.warning("no resync for %s: %s", loggable(room), loggable(err))
                continue
            for sid in sids:  # these sockets are this process's: no need to go through Redis
                await self.sio.emit("history", {"messages": messages}, to=sid, ignore_queue=True)
                await self.relay.tell_handoff_state(room, sid)

    async def leave_queue(self, sid: str, _data: Any) -> None:
        session_id = (await self.sio.get_session(sid)).get("session_id")
        if not session_id:
            return await self.notice(sid, "no_session")
        await self.relay.stop_waiting(session_id, sid)

    async def handle_message(self, sid: str, data: Any) -> None:
        session = await self.sio.get_session(sid)
        try:
            text, meta = await self.read_turn(session, data, self.settings)
        except Refused as refused:
            return await self.notice(sid, refused.code)
        output = CountingOutput(self.sio, self.bot_message_evt, self.offers)
        message = UserMessage(text, output, session["session_id"], input_channel=self.name(), metadata=meta)
        MESSAGES.labels(self.name(), "visitor").inc()
        state = await self.relay.known_handoff_state(message.sender_id, sid)
        if state is None:  # neither the bot nor an agent may take it: it could be either's
            logger.warning("widget message in %s not delivered: handoff state unknown", loggable(message.sender_id))
            record_touchpoint(error_row(message.sender_id, self.name(), "not_delivered"))
            return await self.notice(sid, "not_delivered")
        if state in WAITING_STATES:
            return await self.relay.to_agent(message, meta.get("display_text") or text, sid, self.in_turn)
        await self.answer(sid, message, output)

    async def answer(self, sid: str, message: UserMessage, output: CountingOutput) -> None:
        """The bot's turn, with "typing" shown meanwhile; a turn that failed or said nothing is told as a notice."""
        session_id = message.sender_id
        await self.sio.emit("typing", {"on": True, "who": "bot"}, room=session_id)
        started = time.monotonic()
        try:
            await self.in_turn(message)
            TURN_SECONDS.labels(self.name()).observe(time.monotonic() - started)
            MESSAGES.labels(self.name(), "bot").inc(output.sent)
            # said nothing: fine while a person has the chat (the bot is paused), else the visitor hears of it
            if output.sent == 0 and await self.relay.known_handoff_state(session_id) not in WAITING_STATES:
                logger.warning("no answer to a widget message in %s", loggable(session_id))
                record_touchpoint(error_row(session_id, self.name(), "no_answer"))
                await self.notice(sid, "no_answer")
        except TrackerStoreUnavailable:  # logged where it waited
            record_touchpoint(error_row(session_id, self.name(), "not_saved"))
            # answered, then the save failed: sending it again would run its actions again
            await self.notice(sid, "not_saved_answered" if output.sent else "not_saved")
        except Exception:  # the visitor hears about it; the log has the details
            logger.exception("widget message for %s failed", loggable(session_id))
            record_touchpoint(error_row(session_id, self.name(), "exception"))
            await self.notice(sid, "error")
        finally:
            await self.sio.emit("typing", {"on": False, "who": "bot"}, room=session_id)

    async def read_turn(self, session: Dict[str, Any], data: Any, settings: Settings) -> tuple:
        """The text and metadata the bot gets for a visitor's message frame, or Refused with the notice's code."""
        session_id = session.get("session_id")
        if not session_id:
            raise Refused("no_session")
        try:
            allowed = await self.limits.allow_message(session_id, session.get("address", "unknown"))
        except LimitsUnavailable:
            raise Refused("unavailable") from None  # fail closed: the visitor is told to try again in a moment
        if not allowed:
            raise Refused("rate_limited")  # counted first: malformed frames count too
        text = data.get("message") if isinstance(data, dict) else None
        if not isinstance(text, str):
            raise Refused("malformed")
        text = readable(text)
        if len(text.encode("utf-8")) > settings.widget_max_message_bytes:
            raise Refused("too_long")
        meta = message_metadata(data, settings.identity_secret)
        if (meta["customer"] or {}).get("id", "") != session.get("customer", ""):
            raise Refused("identity_changed")  # signed in or out since: that is another session (reload)
        title = await self.offers.title(session_id, text)
        if title:  # what agents see for the click: the title the bot showed, not what the client says
            meta["display_text"] = title
        if title is None and text.strip() != OPENING:
            text = as_text(text)
        return text, meta

    async def history(self, session_id: str) -> List[Dict[str, Any]]:
        try:
            return await self.stored_history(session_id)
        except Exception as err:  # no history is better than no session
            logger.warning("no history for %s: %s", loggable(session_id), loggable(err))
            return []

    async def stored_history(self, session_id: str) -> List[Dict[str, Any]]:
        """The conversation's messages as the widget shows them; raises when its tracker cannot be loaded."""
        tracker = await Sanic.get_app("rasa_server").ctx.agent.tracker_store.retrieve(session_id)
        return history_from_events([e.as_dict() for e in tracker.events]) if tracker else []
