"""Tickets (messages visitors left when nobody could chat), their answers by email, and canned responses."""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.errors import BadInput, Conflict, NotFound
from bot.console.sessions import json_body, requires, text_field
from bot.handoff.mail import MailUnavailable
from bot.handoff.records import RecordsUnavailable, Ticket
from bot.handoff.store import AlreadyRecorded
from bot.logsafe import loggable
from bot.touchpoints.events import ticket_row

logger = logging.getLogger(__name__)
bp = Blueprint("tickets")
TICKET_STATUSES = ("open", "answered", "closed")
NOT_SENDING = ("Replies are stored, not sent: no mail server is set up (SMTP_HOST). "
               "Answer the customer from your own mail system.")


def status_field(value: str) -> str:
    if value not in TICKET_STATUSES:
        raise BadInput(f"status must be one of {', '.join(TICKET_STATUSES)}")
    return value


@bp.get("/api/tickets")
@requires("agent")
async def list_tickets(request: Request) -> response.HTTPResponse:
    status = request.args.get("status")
    found = await asyncio.to_thread(request.app.ctx.records.tickets, status and status_field(status))
    sending = request.app.ctx.mailer is not None
    return response.json({"tickets": [t.as_dict() for t in found],
                          "mail": {"sending": sending, "note": None if sending else NOT_SENDING}})


@bp.post("/api/tickets/<ticket_id:int>/reply")
@requires("agent")
async def reply_ticket(request: Request, ticket_id: int) -> response.HTTPResponse:
    """Store the answer and the new status first, then email it (`send`: false keeps it stored only). A mail
    server that fails leaves the answer stored, the ticket open and the error on it, to be sent again."""
    data = json_body(request)
    text = text_field(data, "reply", request.app.ctx.settings.console_max_text, "reply")
    status = status_field(data.get("status") or "answered")
    ticket = await asyncio.to_thread(request.app.ctx.records.answer_ticket, ticket_id, text,
                                     request.ctx.user.username, status)
    if ticket is None:
        raise NotFound("no such ticket")
    request.app.ctx.touchpoints.add([ticket_row(ticket, request.ctx.user.username)])
    if request.app.ctx.mailer is None or data.get("send") is False:
        note = NOT_SENDING if request.app.ctx.mailer is None else "Stored, not sent."
        return response.json({"ticket": ticket.as_dict(), "mail": {"sent": False, "error": None, "note": note}})
    return await send_reply(request, ticket)


@bp.post("/api/tickets/<ticket_id:int>/send")
@requires("agent")
async def resend_ticket(request: Request, ticket_id: int) -> response.HTTPResponse:
    """Send the stored answer again (after the mail server was down)."""
    ticket = await asyncio.to_thread(request.app.ctx.records.ticket, ticket_id)
    if ticket is None:
        raise NotFound("no such ticket")
    if not ticket.reply:
        raise Conflict("this ticket has no answer to send yet")
    if request.app.ctx.mailer is None:
        raise Conflict(NOT_SENDING)
    return await send_reply(request, ticket, status="answered" if ticket.status == "open" else None)


async def send_reply(request: Request, ticket: Ticket, status: Optional[str] = None) -> response.HTTPResponse:
    """Email the ticket's answer once and record how it went; the answer says whether it was sent, or why not."""
    try:
        await request.app.ctx.mailer.send_ticket_reply(ticket)
        problem = None
    except MailUnavailable as err:
        problem = str(err)
        logger.warning("the answer to ticket %s was stored, not sent: %s", loggable(ticket.reference), loggable(problem))
    try:  # the mail went (or not) whatever the database says: the answer tells how it went, not a 503
        ticket = await asyncio.to_thread(request.app.ctx.records.record_sending, ticket.id, problem, status) or ticket
        unrecorded = False
    except RecordsUnavailable:
        unrecorded = True
    if problem:
        note = f"Stored, not sent: {problem}. The ticket stays open; send it again when the mail server is back."
    else:
        note = f"Sent to {ticket.email}." + (" (Not recorded as sent: the database did not answer.)" if unrecorded else "")
    return response.json({"ticket": ticket.as_dict(), "mail": {"sent": problem is None, "error": problem, "note": note}})


@bp.get("/api/canned")
@requires("agent")
async def list_canned(request: Request) -> response.HTTPResponse:
    return response.json({"canned": await asyncio.to_thread(request.app.ctx.records.canned)})


@bp.post("/api/canned")
@requires("admin")
async def create_canned(request: Request) -> response.HTTPResponse:
    return await save_canned(request, None)


@bp.put("/api/canned/<canned_id:int>")
@requires("admin")
async def update_canned(request: Request, canned_id: int) -> response.HTTPResponse:
    return await save_canned(request, canned_id)


async def save_canned(request: Request, canned_id: Optional[int]) -> response.HTTPResponse:
    data = json_body(request)
    title, text = str(data.get("title") or "").strip(), str(data.get("text") or "").strip()
    if not title or not text:
        raise BadInput("a canned response needs a title and a text")
    try:
        saved = await asyncio.to_thread(request.app.ctx.records.save_canned, title, text, canned_id)
    except AlreadyRecorded:
        raise Conflict(f"there is already a canned response called {title!r}") from None
    return response.json({"canned": saved}, status=201 if canned_id is None else 200)


@bp.delete("/api/canned/<canned_id:int>")
@requires("admin")
async def delete_canned(request: Request, canned_id: int) -> response.HTTPResponse:
    await asyncio.to_thread(request.app.ctx.records.delete_canned, canned_id)
    return response.json({"ok": True})
