"""Tickets (messages visitors left when nobody could chat), their answers by email, and canned responses."""
from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy.exc import IntegrityError

from bot.console.sessions import error, json_body, requires, text_field
from bot.handoff.mail import MailUnavailable
from bot.handoff.records import RecordsUnavailable
from bot.logsafe import loggable
from bot.touchpoints.events import ticket_row

logger = logging.getLogger(__name__)
bp = Blueprint("tickets")
TICKET_STATUSES = ("open", "answered", "closed")
NOT_SENDING = ("Replies are stored, not sent: no mail server is set up (SMTP_HOST). "
               "Answer the customer from your own mail system.")


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
    sending = request.app.ctx.mailer is not None
    return failed or response.json({"tickets": [t.as_dict() for t in found],
                                    "mail": {"sending": sending, "note": None if sending else NOT_SENDING}})


@bp.post("/api/tickets/<ticket_id:int>/reply")
@requires("agent")
async def reply_ticket(request: Request, ticket_id: int):
    """Store the answer and the new status first, then email it (`send`: false keeps it stored only). A mail
    server that fails leaves the answer stored, the ticket open and the error on it, to be sent again."""
    data = json_body(request)
    text, refused = text_field(data, "reply", request.app.ctx.settings.console_max_text, "reply")
    if refused:
        return refused
    status = data.get("status") or "answered"
    if status not in TICKET_STATUSES:
        return error(400, f"status must be one of {', '.join(TICKET_STATUSES)}")
    ticket, failed = await records_call(request.app.ctx.records.answer_ticket, ticket_id, text,
                                        request.ctx.user.username, status)
    if failed:
        return failed
    if ticket is None:
        return error(404, "no such ticket")
    request.app.ctx.touchpoints.add([ticket_row(ticket, request.ctx.user.username)])
    if request.app.ctx.mailer is None or data.get("send") is False:
        note = NOT_SENDING if request.app.ctx.mailer is None else "Stored, not sent."
        return response.json({"ticket": ticket.as_dict(), "mail": {"sent": False, "error": None, "note": note}})
    return await send_reply(request, ticket)


@bp.post("/api/tickets/<ticket_id:int>/send")
@requires("agent")
async def resend_ticket(request: Request, ticket_id: int):
    """Send the stored answer again (after the mail server was down)."""
    ticket, failed = await records_call(request.app.ctx.records.ticket, ticket_id)
    if failed:
        return failed
    if ticket is None:
        return error(404, "no such ticket")
    if not ticket.reply:
        return error(409, "this ticket has no answer to send yet")
    if request.app.ctx.mailer is None:
        return error(409, NOT_SENDING)
    return await send_reply(request, ticket, status="answered" if ticket.status == "open" else None)


async def send_reply(request: Request, ticket, status=None):
    """Email the ticket's answer once and record how it went; the answer says whether it was sent, or why not."""
    try:
        await request.app.ctx.mailer.send_ticket_reply(ticket)
        problem = None
    except MailUnavailable as err:
        problem = str(err)
        logger.warning("the answer to ticket %s was stored, not sent: %s", loggable(ticket.reference), loggable(problem))
    recorded, failed = await records_call(request.app.ctx.records.record_sending, ticket.id, problem, status)
    ticket = recorded or ticket
    if problem:
        note = f"Stored, not sent: {problem}. The ticket stays open; send it again when the mail server is back."
    else:
        note = f"Sent to {ticket.email}." + (" (Not recorded as sent: the database did not answer.)" if failed else "")
    return response.json({"ticket": ticket.as_dict(), "mail": {"sent": problem is None, "error": problem, "note": note}})


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
