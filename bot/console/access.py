"""Who may read which conversation. Admins read all. An agent reads a conversation that was queued to a team
they serve (an agent with no teams serves every team; everyone serves "general") or handed to them, and one a
visitor left a ticket in (every agent answers tickets). Bot-only conversations stay with the admins."""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from sanic.request import Request

from bot.console.errors import Forbidden
from bot.console.users import User
from bot.handoff.queue import Agent, Handoff
from bot.handoff.records import HandoffRecords, RecordsUnavailable

logger = logging.getLogger(__name__)
NOT_YOURS = "this conversation was not handed to you or your teams"


def agent_for(user: User) -> Agent:
    return Agent(user.username, user.name, user.teams, user.max_chats)


def serves(user: User, handoff: Optional[Handoff]) -> bool:
    """The handoff is this agent's, or queued to one of their teams (admins: every one)."""
    if user.role == "admin":
        return True
    return handoff is not None and (handoff.agent_id == user.username or agent_for(user).serves(handoff.team))


async def readable(request: Request, cid: str) -> Optional[Handoff]:
    """The conversation's handoff (None if it has none) if the signed-in user may read it; else Forbidden (403)."""
    ctx, user = request.app.ctx, request.ctx.user
    handoff = await ctx.queue.get(cid)
    if serves(user, handoff) or await has_ticket(ctx.records, cid):
        return handoff
    logger.info("conversation %r refused to %s", cid[:80], user.username)
    raise Forbidden(NOT_YOURS)


async def has_ticket(records: HandoffRecords, cid: str) -> bool:
    try:
        return await asyncio.to_thread(records.has_ticket, cid)
    except RecordsUnavailable as err:  # refused, not failed: the agent can try again
        logger.warning("tickets of %r not read: %s", cid[:80], err)
        return False
