"""The chat widget's socket.io channel: Rasa's socket.io protocol, made safe for a public website.

Compatible with Rasa's protocol (`session_request` -> `session_confirm`, `user_uttered`,
`bot_uttered`), so existing Rasa socket.io clients work; on top of it:
- only allowed origins may connect (WIDGET_ORIGINS);
- session ids are random and come with a session token (HMAC of the id and of the signed-in
  customer, if any): resuming a session, and so reading its history, needs the token and the same
  identity. A page whose customer changed (logged in, out, or another one) gets a new session.
  Messages always go to the session this connection was given, whatever `session_id` the message names,
  and each must carry the identity the session was started with (else a `notice`: the page must reload);
- a typed "/intent" is text, not a command, unless it is a button the bot offered in this conversation,
  and the text agents see for a click is that button's title (bot.channels.offers);
- limits on message size, message rate per session and per address, session requests and connections
  per address (bot.channels.limits), each answered with a `notice` event, never a silent drop;
- every frame, however malformed, is processed or answered with a notice (bot.channels.frames);
- rooms through Redis (python-socketio's AsyncRedisManager), so another process (the agent
  console) or another Rasa replica can reach the visitor.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional

import redis.asyncio as aioredis
import socketio
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request

from bot.channels import WIDGET_SOCKET_CHANNEL
from bot.channels.frames import UNREADABLE, TolerantPacket, as_text, readable
from bot.channels.limits import Limits
from bot.channels.offers import OfferedPayloads
from bot.handoff.queue import WAITING_STATES, HandoffQueue, QueueUnavailable
from bot.handoff.rasa_api import RasaApi, RasaUnavailable
from bot.identity import sign, verified_customer_id
from bot.logsafe import loggable
from bot.orders import OrdersUnavailable
from bot.orders.factory import backend
from bot.orders.present import first_name
from bot.proxies import client_address, via_proxy
from bot.settings import Settings, get_settings
from bot.touchpoints.broker import record as record_touchpoint
from bot.touchpoints.events import error_row, handoff_row
from bot.tracker.transcript import history_from_events

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
TEMPLATES = Path(__file__).resolve().parent.parent / "console" / "templates"
MAX_METADATA_BYTES = 2048
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # as secrets.token_urlsafe makes them
SESSION_TOKEN = re.compile(r"[0-9a-f]{64}")  # as session_token makes them (compare_digest refuses non-ASCII text)
OPENING = "/greet"  # what widget.js sends to open a new session: a command the bot never offered as a button
MAX_NAME_CHARS = 80
NOTICES = {
    "too_long": "That message is too long for me. Could you shorten it (at most {limit} characters)?",
    "rate_limited": "You're sending messages faster than I can read them. Please wait a few seconds.",
    "malformed": "I couldn't read that message. Please try again.",
    "no_session": "Your chat session has not started yet. Please reload the page.",
    "error": "Sorry, something went wrong on our side. Please try again in a moment.",
    "no_answer": "Sorry, I couldn't answer that just now. Please try again in a moment, or ask for a person.",
    "identity_changed": "You signed in or out since this chat started. Please reload the page to go on chatting.",
    "too_many_sessions": "The chat was opened too often from your network just now. Please wait a minute, then reload the page.",
}


class Refused(Exception):
    """A frame the channel does not pass on; `code` names the notice the visitor gets."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class WidgetOutput(SocketIOOutput):
    """Rasa's socket.io output, recording every button it sends (bot.channels.offers): a click on one is a
    command and shows as its title; anything else the visitor sends is text."""

    def __init__(self, sio, bot_message_evt, offers: OfferedPayloads) -> None:
        super().__init__(sio, bot_message_evt)
        self.offers = offers

    async def send_text_with_buttons(self, recipient_id, text, buttons, **kwargs) -> None:
        await self.offers.record(recipient_id, buttons)  # before the visitor can click
        await super().send_text_with_buttons(recipient_id, text, buttons, **kwargs)


class CountingOutput(WidgetOutput):
    """The widget's output, counting what it sends: a turn that sent nothing means something failed
    (Rasa logs a failed custom action and carries on silently), and the visitor should hear about it."""

    def __init__(self, sio, bot_message_evt, offers: OfferedPayloads) -> None:
        super().__init__(sio, bot_message_evt, offers)
        self.sent = 0

    async def _send_message(self, socket_id, response) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)

    async def send_custom_json(self, recipient_id, json_message, **kwargs) -> None:
        self.sent += 1
        await super().send_custom_json(recipient_id, json_message, **kwargs)


def session_token(session_id: str, secret: str, customer_id: str = "") -> str:
    """Bound to who the page said the visitor was (an anonymous session's token is the id's alone), so a
    session never outlives its identity: logged out, the next person on this browser cannot resume it."""
    bound = f"{session_id}|{customer_id}" if customer_id else session_id
    return hmac.new(f"widget-session:{secret}".encode(), bound.encode(), hashlib.sha256).hexdigest()


def valid_session(session_id: Any, token: Any, secret: str, customer_id: str = "") -> bool:
    if not isinstance(session_id, str) or not isinstance(token, str) or not SESSION_ID.fullmatch(session_id):
        return False
    if not SESSION_TOKEN.fullmatch(token):
        return False
    return hmac.compare_digest(session_token(session_id, secret, customer_id), token)


def page_identity(data: Dict[str, Any], secret: str) -> str:
    """The signed-in customer the page sent with this frame (checked), or "" for anonymous."""
    customer = message_metadata(data, secret)["customer"]
    return customer["id"] if customer else ""


def page_metadata(data: Dict[str, Any]) -> Dict[str, Any]:
    """What the page sent along (Rasa clients use `customData` or `metadata`), bounded; {} if unreadable."""
    raw = data.get("metadata") or data.get("customData") or {}
    try:
        if isinstance(raw, str):
            raw = json.loads(raw[:MAX_METADATA_BYTES])
        if not isinstance(raw, dict) or len(json.dumps(raw, default=str)) > MAX_METADATA_BYTES:
            return {}
    except (ValueError, RecursionError):  # not JSON, or nested deeper than any page would
        return {}
    return raw


def message_metadata(data: Dict[str, Any], secret: str) -> Dict[str, Any]:
    """The metadata the bot gets: the channel and the page's customer, only if correctly signed, and only
    the fields the bot reads (the page's name for them cleaned: a lone surrogate cannot be stored)."""
    raw = page_metadata(data)
    customer_id = verified_customer_id(raw, secret)
    customer = None
    if customer_id is not None:
        given = raw["customer"] if isinstance(raw.get("customer"), dict) else raw
        customer = {"id": customer_id, "signature": given["signature"]}
        if isinstance(given.get("name"), str):
            customer["name"] = readable(given["name"])[:MAX_NAME_CHARS]
    return {"channel": "widget", "customer": customer, "customer_verified": customer is not None}


def demo_login(settings: Settings, request: Request) -> Optional[str]:
    """The customer the demo page may sign in: any, from the query string, but only in demo mode (DEMO_MODE) and
    only for a request made on this machine. Through a proxy, signing would be public: anyone could sign in as
    anyone and read, change or erase their orders, so such a request gets the guest page."""
    customer_id = request.args.get("customer")
    if not settings.demo_mode or not customer_id or len(customer_id) > 32 or via_proxy(request, settings):
        return None
    return customer_id


def name_on_orders(customer_id: str) -> str:
    """The customer's first name as their latest order has it, as a shop page would show it ("" if unknown)."""
    try:
        latest = backend().recent_orders(customer_id, 1)
    except OrdersUnavailable as err:
        logger.warning("no name for demo customer %s: %s", loggable(customer_id), loggable(err))
        return ""
    return first_name(latest[0].address.name) if latest else ""


def demo_page(settings: Settings, customer_id: Optional[str] = None, name: str = "", can_sign_in: bool = True) -> str:
    """The demo shop page, signed in as `customer_id` (see demo_login) with the customer's own name."""
    config: Dict[str, Any] = {"title": "Northwind Goods help", "subtitle": "Nora, our assistant, answers right away"}
    login = '<a href="?customer=C00001">Log in as demo customer C00001</a>' if can_sign_in else "Guest"
    if customer_id:
        config["customer"] = {"id": customer_id, "signature": sign(customer_id, settings.identity_secret)}
        if name:
            config["customer"]["name"] = name
        shown = f"{html.escape(name)} ({html.escape(customer_id)})" if name else html.escape(customer_id)
        login = f'Logged in as {shown} &middot; <a href="?">log out</a>'
    # JSON inside <script>: "<" escaped so no value can close the tag
    config_js = json.dumps(config).replace("<", "\\u003c")
    page = (TEMPLATES / "demo.html").read_text(encoding="utf-8")
    return (page.replace("__CONFIG__", config_js).replace("__LOGIN__", login)
            .replace("__WIDGET_URL__", f"{settings.rasa_url}/webhooks/widget/widget.js"))


async def demo_response(settings: Settings, request: Request) -> response.HTTPResponse:
    """The demo page, only in demo mode: a production bot serves no made-up shop at its public address."""
    if not settings.demo_mode:
        return response.text("Not found: the demo page is on only in demo mode (DEMO_MODE=1)", status=404)
    customer = demo_login(settings, request)
    name = await asyncio.to_thread(name_on_orders, customer) if customer else ""
    return response.html(demo_page(settings, customer, name, can_sign_in=not via_proxy(request, settings)))


class Turns:
    """One turn at a time per conversation in this process, woken the moment the previous one ends. A visitor
    may answer while the previous turn is still being saved (the answer is sent before the save). Rasa's lock
    store (bot.rasa_stores) now wakes such a turn as well, but without this lock the widget/REST p95 ratio
    measured 1.23 with one client (one run; 0.91-1.06 with it), so it stays until a bench says otherwise."""

    def __init__(self) -> None:
        self._locks: Dict[str, asyncio.Lock] = {}
        self._users: Dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def of(self, session_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        self._users[session_id] = self._users.get(session_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[session_id] -= 1
            if not self._users[session_id]:
                del self._users[session_id], self._locks[session_id]


async def handoff_state(queue: HandoffQueue, session_id: str) -> str:
    """'waiting'/'active' while a person is involved; '' otherwise, or when Redis cannot say (the bot answers)."""
    try:
        return await queue.status(session_id)
    except QueueUnavailable as err:
        logger.warning("handoff state of %s unknown, Redis unavailable: %s", loggable(session_id), loggable(err))
        return ""


class WidgetInput(InputChannel):
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
        self.sio: Optional[socketio.AsyncServer] = None
        self.limits: Optional[Limits] = None
        self.offers: Optional[OfferedPayloads] = None
        self._rasa_api: Optional[RasaApi] = None  # to resume the bot when a visitor stops waiting

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WidgetOutput(self.sio, self.bot_message_evt, self.offers) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        secret = settings.identity_secret
        manager = socketio.AsyncRedisManager(settings.redis.url(db=0), channel=WIDGET_SOCKET_CHANNEL)
        sio = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins=settings.allowed_origins,
                                   client_manager=manager, max_http_buffer_size=64 * 1024, serializer=TolerantPacket)
        self.sio = sio
        limits = self.limits = Limits(settings)
        self.offers = OfferedPayloads(limits.redis)
        queue = HandoffQueue.from_url(settings.redis.url(db=0))
        blueprint = SocketBlueprint(sio, self.socketio_path, "widget_webhook", __name__)
        turns = Turns()

        async def in_turn(message: UserMessage) -> Any:
            async with turns.of(message.sender_id):
                return await on_new_message(message)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        @blueprint.route("/widget.js", methods=["GET"])
        async def widget_js(_: Request):
            return await response.file(STATIC / "widget.js", headers={"Cache-Control": "public, max-age=300"})

        @blueprint.route("/socket.io.min.js", methods=["GET"])
        async def socketio_js(_: Request):
            return await response.file(STATIC / "vendor" / "socket.io.min.js",
                                       headers={"Cache-Control": "public, max-age=86400"})

        @blueprint.route("/demo", methods=["GET"])
        async def demo(request: Request):
            return await demo_response(settings, request)

        async def notice(sid: str, code: str) -> None:
            text = NOTICES[code].format(limit=settings.widget_max_message_bytes)
            await sio.emit("notice", {"code": code, "text": text}, to=sid)

        def frame(event: str):
            """A handler of one client event: called with exactly one data argument (None if the frame had
            none), and whatever it raises is logged and told, never left to the server's read loop."""
            def register(handler):
                @functools.wraps(handler)
                async def answered(sid: str, *args: Any) -> None:
                    try:
                        await handler(sid, args[0] if args else None)
                    except Exception:
                        logger.exception("widget %s frame from %r failed", event, sid)
                        await notice(sid, "error")
                sio.on(event, answered)
                return handler
            return register

        @sio.on("connect")
        async def connect(sid: str, environ: Dict, auth: Optional[Dict] = None) -> None:
            address = client_address(environ.get("sanic.request"), settings)  # behind a proxy: the one it names
            if not await limits.open_connection(address):
                logger.info("refused a widget connection from %s: too many", loggable(address))
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": "too_many_connections", "text": "Too many chat windows are open from your network."})
            await sio.save_session(sid, {"address": address})

        @sio.on("disconnect")
        async def disconnect(sid: str) -> None:
            session = await sio.get_session(sid)
            await limits.close_connection(session.get("address", "unknown"))

        @sio.on("*")
        async def anything_else(event: str, sid: str, *_: Any) -> None:
            what = "an undecodable frame" if event == UNREADABLE else f"an unknown event {str(event)[:40]!r}"
            logger.info("widget connection %r sent %s", sid, what)
            await notice(sid, "malformed")

        @frame("session_request")
        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            session = await sio.get_session(sid)
            address = session.get("address", "unknown")
            if not await limits.allow_session(address):  # else each new session would be a fresh start
                logger.info("refused a widget session from %s: too many", address)
                return await notice(sid, "too_many_sessions")
            customer = page_identity(data, secret)  # another customer than the session's: a new session
            resumed = valid_session(data.get("session_id"), data.get("session_token"), secret, customer)
            session_id = data["session_id"] if resumed else secrets.token_urlsafe(18)
            if session.get("session_id") and session["session_id"] != session_id:
                await sio.leave_room(sid, session["session_id"])
            # every turn must carry this identity (see read_turn)
            await sio.save_session(sid, {**session, "session_id": session_id, "customer": customer})
            await limits.remember_address(session_id, address)
            await sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", session_id, to=sid)
            await sio.emit("session_token", {"session_id": session_id,
                                             "session_token": session_token(session_id, secret, customer)}, to=sid)
            if resumed:
                await sio.emit("history", {"messages": await self.history(session_id)}, to=sid)
                await self.tell_handoff_state(queue, session_id, sid)

        @frame("leave_queue")
        async def leave_queue(sid: str, _data: Any) -> None:
            session_id = (await sio.get_session(sid)).get("session_id")
            if not session_id:
                return await notice(sid, "no_session")
            await self.stop_waiting(queue, session_id, sid, notice)

        @frame(self.user_message_evt)
        async def handle_message(sid: str, data: Any) -> None:
            session = await sio.get_session(sid)
            try:
                text, meta = await self.read_turn(session, data, settings)
            except Refused as refused:
                return await notice(sid, refused.code)
            session_id = session["session_id"]
            output = CountingOutput(sio, self.bot_message_evt, self.offers)
            message = UserMessage(text, output, session_id, input_channel=self.name(), metadata=meta)
            if await handoff_state(queue, session_id) in WAITING_STATES:
                return await self.to_agent(queue, message, meta.get("display_text") or text, notice, sid, in_turn)
            await sio.emit("typing", {"on": True, "who": "bot"}, room=session_id)
            try:
                await in_turn(message)
                if output.sent == 0 and await handoff_state(queue, session_id) not in WAITING_STATES:
                    logger.warning("no answer to a widget message in %s", loggable(session_id))
                    record_touchpoint(error_row(session_id, self.name(), "no_answer"))
                    await notice(sid, "no_answer")
            except Exception:  # the visitor hears about it; the log has the details
                logger.exception("widget message for %s failed", loggable(session_id))
                record_touchpoint(error_row(session_id, self.name(), "exception"))
                await notice(sid, "error")
            finally:
                await sio.emit("typing", {"on": False, "who": "bot"}, room=session_id)

        return blueprint

    async def read_turn(self, session: Dict[str, Any], data: Any, settings: Settings) -> tuple:
        """The text and metadata the bot gets for a visitor's message frame, or Refused with the notice's code."""
        session_id = session.get("session_id")
        if not session_id:
            raise Refused("no_session")
        if not await self.limits.allow_message(session_id, session.get("address", "unknown")):
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

    async def stop_waiting(self, queue: HandoffQueue, session_id: str, sid: str, notice) -> None:
        """The visitor pressed "Stop waiting": out of the queue, and the bot takes the conversation back."""
        try:
            handoff = await queue.get(session_id)
            left = await queue.leave(session_id, "left")
        except QueueUnavailable as err:
            logger.warning("%s could not leave the queue, Redis unavailable: %s", loggable(session_id), loggable(err))
            return await notice(sid, "error")
        if not left or handoff is None:  # someone took the chat meanwhile, or it was not waiting: say how it is
            return await self.tell_handoff_state(queue, session_id, sid)
        record_touchpoint(handoff_row(handoff, "handoff_handed_back", actor="visitor", outcome="left",
                                      wait_seconds=round(time.time() - handoff.enqueued_at, 1)))
        await self.sio.emit("handoff", {"state": "left"}, room=session_id)
        try:
            await self.rasa_api().resume_and_continue(session_id, "handoff_left")
        except RasaUnavailable as err:
            logger.error("%s left the queue but the bot was not resumed: %s", loggable(session_id), loggable(err))
            await notice(sid, "error")

    def rasa_api(self) -> RasaApi:
        if self._rasa_api is None:
            settings = get_settings()
            self._rasa_api = RasaApi(settings.rasa_api_url, settings.rasa_token)
        return self._rasa_api

    async def tell_handoff_state(self, queue: HandoffQueue, session_id: str, sid: str) -> None:
        """A reloaded page learns whether a person is involved (the console tells it only of changes)."""
        try:
            handoff = await queue.get(session_id)
            if handoff and handoff.status == "waiting":
                placement = await queue.placement(session_id)
                await self.sio.emit("handoff", {"state": "waiting", "position": placement.position,
                                                "eta_seconds": placement.eta_seconds}, to=sid)
            elif handoff and handoff.status == "active":
                # `resumed`: the header learns who has the chat; a "joined" line now would follow their replies
                await self.sio.emit("handoff", {"state": "active", "agent": handoff.agent_name, "resumed": True}, to=sid)
        except (QueueUnavailable, aioredis.RedisError) as err:  # the socket.io emit goes through Redis too
            logger.warning("handoff state of %s not told: %s", loggable(session_id), loggable(err))

    @staticmethod
    async def to_agent(queue: HandoffQueue, message: UserMessage, shown: str, notice, sid: str, on_new_message) -> None:
        """While a person has (or is about to have) the conversation the bot is paused: the message goes to
        the agents live first, then into the transcript (Rasa records it without answering)."""
        try:
            await queue.publish("message", message.sender_id, sender="visitor", text=shown[:4000])
        except QueueUnavailable as err:  # still recorded below; the agent sees it on reload
            logger.warning("visitor message in %s not relayed live: %s", loggable(message.sender_id), loggable(err))
        try:
            await on_new_message(message)
        except Exception:
            logger.exception("widget message for %s not recorded", loggable(message.sender_id))
            await notice(sid, "error")

    async def history(self, session_id: str) -> List[Dict[str, Any]]:
        try:
            tracker = await Sanic.get_app("rasa_server").ctx.agent.tracker_store.retrieve(session_id)
        except Exception as err:  # no history is better than no session
            logger.warning("no history for %s: %s", loggable(session_id), loggable(err))
            return []
        return history_from_events([e.as_dict() for e in tracker.events]) if tracker else []
