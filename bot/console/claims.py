"""Handoff moves that also tell the visitor and leave a touchpoint: a claim (by hand, next in line or
auto-assign) and a conversation going back to a team's queue."""
from __future__ import annotations

import logging
from typing import Optional

from bot.console.visitor_link import VisitorLink
from bot.handoff.queue import Agent, Handoff, HandoffQueue
from bot.logsafe import loggable
from bot.touchpoints.events import handoff_row
from bot.touchpoints.writer import TouchpointWriter

logger = logging.getLogger(__name__)


async def claim_and_tell(queue: HandoffQueue, link: VisitorLink, cid: str, agent: Agent,
                         writer: Optional[TouchpointWriter] = None) -> str:
    result = await queue.claim(cid, agent)
    if result == "claimed":
        handoff = await queue.get(cid)
        if handoff is not None:
            await announce_claim(link, writer, handoff, agent)
    return result


async def announce_claim(link: VisitorLink, writer: Optional[TouchpointWriter], handoff: Handoff, agent: Agent) -> None:
    """After a claim (by hand, next-in-line or auto-assign): the touchpoint, and the visitor told who joined."""
    if writer is not None:
        writer.add([handoff_row(handoff, "handoff_claimed", agent_id=agent.id,
                                wait_seconds=round(handoff.claimed_at - handoff.enqueued_at, 1))])
    try:
        await link.status(handoff.conversation_id, "active", agent=agent.name)
    except Exception as err:  # the claim stands; the visitor sees the agent's first message
        logger.warning("visitor %s not told who joined: %s", loggable(handoff.conversation_id), loggable(err))


async def requeue_and_tell(queue: HandoffQueue, link: VisitorLink, writer: Optional[TouchpointWriter], cid: str,
                           from_id: str, team: str, actor: str = "agent", because: str = "") -> str:
    """Back to the queue for `team` (an agent passing it on, or the watcher rescuing an absent agent's chat):
    the touchpoint, and the visitor told. Returns the queue's answer ('requeued' or 'not_yours')."""
    result = await queue.transfer_to_team(cid, from_id, team)
    if result == "requeued":
        why = {"because": because} if because else {}
        handoff = await queue.get(cid) if writer is not None else None
        if writer is not None and handoff is not None:  # None: it ended in the meantime, and there is nothing left to describe
            writer.add([handoff_row(handoff, "handoff_transferred", actor=actor, agent_id=from_id, to_team=team, **why)])
        await link.status(cid, "transferred", team=team, **({"reason": because} if because else {}))
    return result
