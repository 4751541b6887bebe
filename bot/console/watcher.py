"""The watcher that keeps waiting visitors told their place, expires long waits, gives an absent agent's
chats back to the queue and auto-assigns. One per console process; the leader among them acts."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Dict, List, Optional, Tuple

from bot.console.claims import claim_and_tell, requeue_and_tell
from bot.console.visitor_link import VisitorLink
from bot.handoff.leader import Lease
from bot.handoff.queue import Agent, Handoff, HandoffQueue, estimate_wait
from bot.handoff.rasa_api import RasaApi, RasaUnavailable
from bot.logsafe import loggable
from bot.touchpoints.events import handoff_row
from bot.touchpoints.writer import TouchpointWriter

logger = logging.getLogger(__name__)

TICK_SECONDS = 2.0
ORPHAN_AFTER_SECONDS = 60.0  # an agent offline this long (after presence expired) gives their chats back


class Watcher:
    """One per console process; only the one holding the lease acts, so several consoles agree."""

    def __init__(self, queue: HandoffQueue, link: VisitorLink, rasa: RasaApi, max_wait: float, auto_assign: bool,
                 writer: Optional[TouchpointWriter] = None) -> None:
        self.queue, self.link, self.rasa, self.writer = queue, link, rasa, writer
        self.max_wait, self.auto_assign = max_wait, auto_assign
        self.me = f"{os.getpid()}-{id(self)}"
        self.lease = Lease(queue, self.me, ttl=int(TICK_SECONDS * 3))
        self.told: Dict[str, Tuple[int, int]] = {}  # cid -> (position, eta minutes) last sent
        self.offline_since: Dict[str, float] = {}  # agent id -> when this watcher first saw them gone with chats
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        """run() ends at its next step. A cancel alone is not enough: one that lands inside a Redis call as its
        timeout fires comes back as a timeout error, which a tick takes for a hiccup and goes on."""
        self.stopping.set()

    async def run(self) -> None:
        while not self.stopping.is_set():
            try:
                if await self.lead():
                    await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis or Rasa hiccup: log, try again next tick
                logger.exception("handoff watcher tick failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), TICK_SECONDS)

    async def lead(self) -> bool:
        return await self.lease.hold()

    async def tick(self, now: Optional[float] = None) -> None:
        now = now or time.time()
        waiting = await self.queue.waiting()
        for handoff in [h for h in waiting if now - h.enqueued_at > self.max_wait]:
            await self.expire(handoff)
        waiting = [h for h in waiting if now - h.enqueued_at <= self.max_wait]
        agents = await self.queue.agents()
        if await self.rescue_orphans(agents, now):
            waiting, agents = await self.queue.waiting(), await self.queue.agents()
        if self.auto_assign:
            waiting = await self.assign(waiting, agents)
            agents = await self.queue.agents()
        handling = await self.queue.handling_seconds()
        for rank, handoff in enumerate(waiting):
            eta = estimate_wait(rank, agents, handling)
            told = (rank + 1, round((eta or 0) / 60))
            if self.told.get(handoff.conversation_id) != told:
                self.told[handoff.conversation_id] = told
                await self.link.status(handoff.conversation_id, "waiting", position=rank + 1, eta_seconds=eta)
        current = {h.conversation_id for h in waiting}
        self.told = {k: v for k, v in self.told.items() if k in current}

    async def rescue_orphans(self, agents: List[Agent], now: float) -> int:
        """Chats of an agent who went offline (closed the console, lost the network) and stayed away for
        ORPHAN_AFTER_SECONDS go back to the queue, at their old place, so nobody waits for a person who left."""
        rescued = 0
        for agent in agents:
            if agent.status != "offline" or not agent.chats:
                self.offline_since.pop(agent.id, None)
                continue
            if now - self.offline_since.setdefault(agent.id, now) < ORPHAN_AFTER_SECONDS:
                continue
            for handoff in await self.queue.chats(agent.id):
                cid = handoff.conversation_id
                if await requeue_and_tell(self.queue, self.link, self.writer, cid, agent.id, handoff.team,
                                          actor="system", because="agent_offline") != "requeued":
                    continue
                rescued += 1
                logger.warning("agent %s offline for %.0f s: conversation %s back in the queue", loggable(agent.id),
                               now - self.offline_since[agent.id], loggable(cid))
                self.told.pop(cid, None)  # their place is told afresh below
            self.offline_since.pop(agent.id, None)
        return rescued

    async def expire(self, handoff: Handoff) -> None:
        if not await self.queue.leave(handoff.conversation_id, "expired"):
            return
        waited = time.time() - handoff.enqueued_at
        logger.info("handoff of %s expired after %.0f s", loggable(handoff.conversation_id), waited)
        if self.writer is not None:
            self.writer.add([handoff_row(handoff, "handoff_handed_back", actor="system", outcome="expired",
                                         wait_seconds=round(waited, 1))])
        await self.link.status(handoff.conversation_id, "expired")
        try:
            await self.rasa.resume_and_continue(handoff.conversation_id, "handoff_expired")
        except RasaUnavailable as err:
            logger.error("visitor %s not told the wait expired: %s", loggable(handoff.conversation_id), loggable(err))

    async def assign(self, waiting: List[Handoff], agents: List[Agent]) -> List[Handoff]:
        """Give waiting conversations, best first, to the least-loaded available agent serving their team."""
        left = []
        for handoff in waiting:
            candidates = sorted((a for a in agents if a.free > 0 and a.serves(handoff.team)), key=lambda a: (a.chats, a.id))
            if candidates and await claim_and_tell(self.queue, self.link, handoff.conversation_id, candidates[0],
                                                   self.writer) == "claimed":
                candidates[0].chats += 1
                continue
            left.append(handoff)
        return left
