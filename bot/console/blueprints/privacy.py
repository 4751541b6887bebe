"""Privacy for admins: deleting a customer's data on request (the right to erasure)."""
from __future__ import annotations

import asyncio

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.sessions import requires

bp = Blueprint("privacy")


@bp.delete("/api/customers/<customer_id:str>/data")
@requires("admin")
async def forget_customer(request: Request, customer_id: str) -> response.HTTPResponse:
    """Right to erasure: the customer's touchpoints, transcripts, tickets, ratings and notes."""
    removed = await asyncio.to_thread(request.app.ctx.forget, customer_id)
    return response.json({"customer_id": customer_id, "removed": removed})
