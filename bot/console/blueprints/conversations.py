"""One conversation: transcript and context for the agent, live replies, notes, transfer, hand back."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any, Dict, List, Optional

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.access import readable
from bot.console.blueprints.queue import handoff_view
from bot.console.claims import requeue_and_tell
from bot.console.errors import BadInput, Conflict, NotFound
from bot.console.sessions import json_body, requires, text_field
from bot.handoff.queue import Handoff
from bot.handoff.rasa_api import RasaUnavailable
from bot.handoff.records import RecordsUnavailable
from bot.handoff.routing import TEAMS
from bot.logsafe import loggable
from bot.orders import Customer, Order, OrdersBackend, OrdersUnavailable
from bot.orders.base import is_late
from bot.orders.present import day, items, money
from bot.touchpoints.events import handoff_row
from bot.tracker.transcript import EXTERNAL_PREFIX, history_from_events

logger = logging.getLogger(__name__)
bp = Blueprint("conversations")
MAX_REPLY = 2000
RELAY_HEAD_START_SECONDS = 0.005


def order_row(o: Order, today: dt.date) -> Dict[str, Any]:
    """An order as the agent reads it: money as the shop shows it, days in words, late orders flagged."""
    return {"number": o.number, "status": o.status, "placed_at": o.placed_at.isoformat(),
            "total": money(o.total, o.currency), "currency": o.currency, "items": items(o), "carrier": o.carrier,
            "tracking_number": o.tracking_number, "expected_delivery": iso(o.expected_delivery),
            "expected": day(o.expected_delivery) if o.expected_delivery else None,
            "delivered": day(o.delivered_at) if o.delivered_at else None, "late": is_late(o, today)}


def iso(value: Optional[dt.date]) -> Optional[str]:
    return value.isoformat() if value else None


def order_in_context(orders: OrdersBackend, slots: Dict[str, Any], customer_id: str) -> Optional[Order]:
    """The order the conversation is about (the order actions' order_number slot, else the last one a guest
    proved), only once proven: verified with its email in this chat, or the signed-in customer's own."""
    proven = [str(n) for n in slots.get("verified_orders") or []]
    for number in [slots.get("order_number"), *proven[-1:]]:
        order = orders.order(str(number)) if number else None
        if order and (order.number in proven or (customer_id and order.customer_id == customer_id)):
            return order
    return None


def customer_record(orders: OrdersBackend, customer_id: str) -> Optional[Customer]:
    """The shop's record of a signed-in customer; a shop API without it (or failing) leaves the orders shown."""
    try:
        return orders.customer(customer_id) if customer_id else None
    except OrdersUnavailable as err:
        logger.warning("customer record of %s unavailable: %s", loggable(customer_id), loggable(err))
        return None


def customer_context(orders: OrdersBackend, customer_id: str, verified: bool, slots: Dict[str, Any]) -> Dict[str, Any]:
    """Who the visitor is (the shop's customer record when signed in), the order under discussion, recent orders."""
    today = dt.date.today()
    customer = {"id": customer_id or None, "verified": verified, "name": None, "email": None}
    try:
        current = order_in_context(orders, slots, customer_id)
        recent = orders.recent_orders(customer_id, 5) if customer_id else []
    except OrdersUnavailable as err:
        return {"customer": customer, "order": None, "orders": [], "orders_error": str(err)}
    record = customer_record(orders, customer_id)
    if record:
        customer.update(name=record.name, email=record.email)
    elif current and not customer_id:
        customer["email"] = current.email  # the email the guest proved the order with
    return {"customer": customer, "order": order_row(current, today) if current else None,
            "orders": [order_row(o, today) for o in recent], "orders_error": None}


async def owned(request: Request, cid: str) -> Handoff:
    """The handoff if the signed-in agent holds this conversation, else Conflict (409)."""
    handoff = await request.app.ctx.queue.get(cid)
    if handoff is None or handoff.status != "active" or handoff.agent_id != request.ctx.user.username:
        raise Conflict("this conversation is not yours right now; claim it first")
    return handoff


@bp.get("/api/conversations/<cid:str>")
@requires("agent")
async def conversation(request: Request, cid: str) -> response.HTTPResponse:
    ctx = request.app.ctx
    handoff = await readable(request, cid)
    tracker = await ctx.rasa.tracker(cid)  # RasaUnavailable: 502
    events = tracker.get("events") or []
    if not events and handoff is None:
        raise NotFound("no such conversation")
    slots = tracker.get("slots") or {}
    customer_id = (handoff.customer_id if handoff else "") or slots.get("customer_id") or ""
    verified = bool(handoff and handoff.customer_verified) or bool(customer_id)
    context = await asyncio.to_thread(customer_context, ctx.orders, customer_id, verified, slots)
    try:
        notes = await asyncio.to_thread(ctx.records.notes, cid)
        rating = await asyncio.to_thread(ctx.records.rating, cid)
    except RecordsUnavailable as err:
        notes, rating = [], None
        logger.warning("notes of %s unavailable: %s", loggable(cid), loggable(err))
    if rating:
        rating = {**rating, "created_at": rating["created_at"].isoformat()}
    return response.json({
        "conversation_id": cid, "handoff": handoff_view(handoff) if handoff else None,
        "transcript": history_from_events(events, detail=True), "paused": bool(tracker.get("paused")),
        **context, "notes": notes, "rating": rating,
        "mine": bool(handoff and handoff.status == "active" and handoff.agent_id == request.ctx.user.username),
    })


@bp.post("/api/conversations/<cid:str>/messages")
@requires("agent")
async def reply(request: Request, cid: str) -> response.HTTPResponse:
    text = text_field(json_body(request), "text", MAX_REPLY, "message")
    await owned(request, cid)
    ctx, user = request.app.ctx, request.ctx.user
    agent = {"id": user.username, "name": user.name}
    # the visitor first (that is the latency that matters), then the transcript. The reply reaches Rasa through
    # Redis (two hops) and the transcript write over HTTP (one): without a head start Rasa often serves the
    # write first and relays the reply ~30 ms later; with it the relay (~1 ms) is done before the write lands
    await ctx.link.agent_said(cid, text, user.name)
    await asyncio.sleep(RELAY_HEAD_START_SECONDS)
    try:
        await ctx.rasa.agent_said(cid, text, agent)
    except RasaUnavailable as err:
        logger.error("agent reply in %s reached the visitor but not the transcript: %s", loggable(cid), loggable(err))
        raise RasaUnavailable(f"sent, but not saved in the transcript: {err}") from err
    await ctx.queue.mark_first_response(cid)
    await ctx.queue.publish("message", cid, sender="agent", agent=agent, text=text)
    return response.json({"ok": True})


@bp.post("/api/conversations/<cid:str>/typing")
@requires("agent")
async def typing(request: Request, cid: str) -> response.HTTPResponse:
    await owned(request, cid)
    await request.app.ctx.link.typing(cid, bool(json_body(request).get("on")), request.ctx.user.name)
    return response.json({"ok": True})


@bp.post("/api/conversations/<cid:str>/notes")
@requires("agent")
async def add_note(request: Request, cid: str) -> response.HTTPResponse:
    text = text_field(json_body(request), "text", request.app.ctx.settings.console_max_text, "note")
    await readable(request, cid)
    note = await asyncio.to_thread(request.app.ctx.records.add_note, cid, request.ctx.user.username, text)
    return response.json({"note": note}, status=201)


@bp.post("/api/conversations/<cid:str>/transfer")
@requires("agent")
async def transfer(request: Request, cid: str) -> response.HTTPResponse:
    ctx, me = request.app.ctx, request.ctx.user.username
    data = json_body(request)
    if data.get("team"):
        if data["team"] not in TEAMS:
            raise BadInput(f"team must be one of {', '.join(TEAMS)}")
        result = await requeue_and_tell(ctx.queue, ctx.link, ctx.touchpoints, cid, me, data["team"])
    elif data.get("agent"):
        target = await ctx.queue.agent(str(data["agent"]))
        if target is None or target.status != "available":
            raise Conflict("that agent is not available")
        result = await ctx.queue.transfer_to_agent(cid, me, target)
        if result == "transferred":
            ctx.touchpoints.add([handoff_row(await ctx.queue.get(cid), "handoff_transferred", agent_id=me,
                                             to_agent=target.id)])
            await ctx.link.status(cid, "active", agent=target.name)
    else:
        raise BadInput("say which agent or team")
    if result in ("requeued", "transferred"):
        return response.json({"result": result})
    raise Conflict({"not_yours": "this conversation is not yours right now",
                    "full": "that agent has no free seat"}[result], result=result)


@bp.post("/api/conversations/<cid:str>/handback")
@requires("agent")
async def hand_back(request: Request, cid: str) -> response.HTTPResponse:
    """Give the conversation back to the bot, which resumes and asks the visitor for a rating."""
    summary = str(json_body(request).get("summary") or "").strip()[:2000]
    handoff = await owned(request, cid)
    ctx, user = request.app.ctx, request.ctx.user
    if not await ctx.queue.hand_back(cid, user.username, summary):
        raise Conflict("this conversation is not yours right now")
    ctx.touchpoints.add([handoff_row(
        handoff, "handoff_handed_back", agent_id=user.username, outcome="handed_back",
        wait_seconds=round(handoff.claimed_at - handoff.enqueued_at, 1),
        handling_seconds=round(time.time() - handoff.claimed_at, 1),
        first_response_seconds=round(handoff.first_response_at - handoff.claimed_at, 1) if handoff.first_response_at else None)])
    if summary:
        try:
            await asyncio.to_thread(ctx.records.add_note, cid, user.username, f"Hand-back summary: {summary}")
        except RecordsUnavailable as err:
            logger.warning("hand-back summary of %s not stored as a note: %s", loggable(cid), loggable(err))
    await ctx.link.status(cid, "bot")
    try:
        await ctx.rasa.resume_and_continue(cid, "handoff_finished")
    except RasaUnavailable as err:  # the queue has let go; say so, so the agent can tell the visitor
        logger.error("bot did not resume %s: %s", loggable(cid), loggable(err))
        raise RasaUnavailable(f"handed back, but the bot did not answer: {err}") from err
    return response.json({"result": "handed_back"})


def visitor_text_at(events: List[Dict[str, Any]], timestamp: Any) -> str:
    """The text of the visitor's message recorded at `timestamp` in the transcript, as Rasa has it; NotFound when no
    visitor-typed message is there (a bot's or an agent's turn, a button's payload, an internal trigger)."""
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        raise BadInput("say which visitor message (its timestamp in the transcript)")
    for event in events:
        if event.get("event") == "user" and event.get("timestamp") == timestamp:
            text = str(event.get("text") or "")
            if text and not text.startswith(("/", EXTERNAL_PREFIX)):
                return text
            break
    raise NotFound("no message the visitor typed is at that point of the transcript")


@bp.post("/api/conversations/<cid:str>/flag")
@requires("agent", "trainer")
async def flag(request: Request, cid: str) -> response.HTTPResponse:
    """"Bot misunderstood" on a visitor's message: read from the transcript on the server (never a text the client
    sends) and put in the NLU inbox for the trainers."""
    ctx = request.app.ctx
    await readable(request, cid)
    tracker = await ctx.rasa.tracker(cid)  # RasaUnavailable: 502
    text = visitor_text_at(tracker.get("events") or [], json_body(request).get("timestamp"))
    await asyncio.to_thread(ctx.inbox.flag, cid, text, request.ctx.user.username)
    logger.info("%s flagged a message of %s as misunderstood", loggable(request.ctx.user.username), loggable(cid))
    return response.json({"flagged": True}, status=201)
