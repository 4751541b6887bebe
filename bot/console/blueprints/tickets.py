"""Tickets (messages visitors left when nobody could chat) and canned responses."""
from __future__ import annotations

import asyncio

from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy.exc import IntegrityError

from bot.console.sessions import error, json_body, requires
from bot.handoff.records import RecordsUnavailable
from bot.touchpoints.events import ticket_row

bp = Blueprint("tickets")
TICKET_STATUSES = ("open", "answered", "closed")


async def records_call(fn, *args):
    try:
        return await asyncio.to_thread(fn, *args), None
    except RecordsUnavailable as err:
        return None, error(503, str(err))


@bp.get("/api/tickets")
@requires("agent")
async def list_tickets(request: Request):
    status = request.args.get("status")
    if status and status not in TICKET_STATUSES:
        return error(400, f"status must be one of {', '.join(TICKET_STATUSES)}")
    found, failed = await records_call(request.app.ctx.records.tickets, status)
    return failed or response.json({"tickets": [t.as_dict() for t in found]})


@bp.post("/api/tickets/<ticket_id:int>/reply")
@requires("agent")
async def reply_ticket(request: Request, ticket_id: int):
    """Store the answer (sending the email is the shop's mail system's job) and the new status."""
    data = json_body(request)
    text, status = str(data.get("reply") or "").strip(), data.get("status") or "answered"
    if not text:
        return error(400, "write the reply first")
    if status not in TICKET_STATUSES:
        return error(400, f"status must be one of {', '.join(TICKET_STATUSES)}")
    ticket, failed = await records_call(request.app.ctx.records.answer_ticket, ticket_id, text,
                                        request.ctx.user.username, status)
    if failed:
        return failed
    if ticket is None:
        return error(404, "no such ticket")
    request.app.ctx.touchpoints.add([ticket_row(ticket, request.ctx.user.username)])
    return response.json({"ticket": ticket.as_dict()})


@bp.get("/api/canned")
@requires("agent")
async def list_canned(request: Request):
    found, failed = await records_call(request.app.ctx.records.canned)
    return failed or response.json({"canned": found})


@bp.post("/api/canned")
@requires("admin")
async def create_canned(request: Request):
    return await save_canned(request, None)


@bp.put("/api/canned/<canned_id:int>")
@requires("admin")
async def update_canned(request: Request, canned_id: int):
    return await save_canned(request, canned_id)


async def save_canned(request: Request, canned_id):
    data = json_body(request)
    title, text = str(data.get("title") or "").strip(), str(data.get("text") or "").strip()
    if not title or not text:
        return error(400, "a canned response needs a title and a text")
    try:
        saved, failed = await records_call(request.app.ctx.records.save_canned, title, text, canned_id)
    except IntegrityError:
        return error(409, f"there is already a canned response called {title!r}")
    return failed or response.json({"canned": saved}, status=201 if canned_id is None else 200)


@bp.delete("/api/canned/<canned_id:int>")
@requires("admin")
async def delete_canned(request: Request, canned_id: int):
    _, failed = await records_call(request.app.ctx.records.delete_canned, canned_id)
    return failed or response.json({"ok": True})
