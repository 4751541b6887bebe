"""The queue: what waits, who is online, claiming, presence, and the live event stream (SSE)."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Optional

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.access import NOT_YOURS, agent_for, serves
from bot.console.claims import announce_claim, claim_and_tell
from bot.console.errors import BadInput, Conflict, Forbidden, NotFound
from bot.console.sessions import json_body, requires, signed_in
from bot.console.users import User
from bot.handoff.queue import EventStream, Handoff, HandoffQueue, estimate_wait
from bot.touchpoints.analytics import label

bp = Blueprint("queue")
HEARTBEAT_SECONDS = 10.0
STATUSES = ("available", "away")
PING = ": ping\n\n"
SIGNED_OUT = 'data: {"type": "signed_out"}\n\n'
# the events about what a visitor said, or that call an agent to a new chat: only for those who may read it
FOR_READERS = ("message", "recorded", "queued")


def handoff_view(handoff: Handoff) -> dict:
    """A handoff as the console shows it: its stored names with the words an agent reads beside them."""
    return {**handoff.as_dict(), "intent_label": label("intents", handoff.intent) if handoff.intent else "",
            "reason_label": label("reasons", handoff.reason)}


@bp.get("/api/queue")
@requires("agent")
async def queue_view(request: Request) -> response.HTTPResponse:
    queue = request.app.ctx.queue
    now = time.time()
    waiting, agents, handling = await queue.waiting(), await queue.agents(), await queue.handling_seconds()
    rows, me = [], request.ctx.user
    for rank, h in enumerate(waiting):
        if not serves(me, h):  # other teams' visitors (their words are in the signals) are not shown
            continue
        rows.append({**handoff_view(h), "position": rank + 1, "waiting_seconds": round(now - h.enqueued_at, 1),
                     "priority": round(h.enqueued_at - queue.score(h), 1), "eta_seconds": estimate_wait(rank, agents, handling)})
    mine = [handoff_view(h) for h in await queue.chats(request.ctx.user.username)]
    # the ETA needs a guess before the first hand-back; the agent is shown only what was measured
    measured = round(handling, 1) if await queue.has_handled() else None
    return response.json({"waiting": rows, "mine": mine, "agents": [a.__dict__ for a in agents],
                          "handling_seconds": measured, "now": now})


@bp.post("/api/presence")
@requires("agent")
async def presence(request: Request) -> response.HTTPResponse:
    status = json_body(request).get("status")
    if status not in STATUSES:
        raise BadInput(f"status must be one of {', '.join(STATUSES)}")
    await request.app.ctx.presence.choose(agent_for(request.ctx.user), status)
    return response.json({"status": status})


@bp.post("/api/conversations/<cid:str>/claim")
@requires("agent")
async def claim(request: Request, cid: str) -> response.HTTPResponse:
    ctx, agent = request.app.ctx, agent_for(request.ctx.user)
    handoff = await ctx.queue.get(cid)
    if handoff is not None and not serves(request.ctx.user, handoff):
        raise Forbidden(NOT_YOURS)
    await ctx.queue.register_agent(agent)
    result = await claim_and_tell(ctx.queue, ctx.link, cid, agent, ctx.touchpoints)
    if result != "claimed":
        messages = {"taken": "another agent has already taken this conversation",
                    "full": f"you already have {agent.max_chats} conversations open",
                    "gone": "this conversation is no longer waiting"}
        raise Conflict(messages[result], result=result)
    return response.json({"result": result, "conversation": (await ctx.queue.get(cid)).as_dict()})


@bp.post("/api/queue/next")
@requires("agent")
async def claim_next(request: Request) -> response.HTTPResponse:
    ctx, agent = request.app.ctx, agent_for(request.ctx.user)
    await ctx.queue.register_agent(agent)
    if len(await ctx.queue.chats(agent.id)) >= agent.max_chats:
        raise Conflict(f"you already have {agent.max_chats} conversations open", result="full")
    handoff = await ctx.queue.claim_next(agent)
    if handoff is None:
        raise NotFound("nobody is waiting for your teams", result="empty")
    await announce_claim(ctx.link, ctx.touchpoints, handoff, agent)
    return response.json({"result": "claimed", "conversation": handoff.as_dict()})


@bp.get("/api/events")
@requires("agent")
async def events(request: Request) -> None:
    """Server-sent events: queue changes and live messages of the conversations this agent may read. While the
    stream is open the agent is online (heartbeat); when the tab closes the stream ends and, if it was their last,
    they go offline. At each heartbeat the session and the user are checked again: a signed-out, deactivated or
    demoted agent's stream ends there, with their presence."""
    ctx, user = request.app.ctx, request.ctx.user
    await ctx.queue.register_agent(agent_for(user))
    async with ctx.queue.events() as events:
        resp = await request.respond(content_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        await ctx.presence.stream_opened(user.username)
        try:
            await stream(request, resp, events, user)
        except asyncio.CancelledError:
            pass  # the agent's tab went away
        finally:
            await ctx.presence.stream_closed(user.username)
    return None


async def stream(request: Request, resp: response.BaseHTTPResponse, events: EventStream, user: User) -> None:
    """Send the agent's events until they may no longer have them (then say so), with a heartbeat between."""
    await resp.send("retry: 3000\n\n")
    beat = 0.0
    while True:
        if time.monotonic() - beat >= HEARTBEAT_SECONDS:
            present = await still_present(request, user.username)
            if present is None:
                await resp.send(SIGNED_OUT)
                return
            user = present
            beat = time.monotonic()
        event = await events.next(timeout=HEARTBEAT_SECONDS / 2)
        await resp.send(await stream_line(request.app.ctx.queue, user, event))


async def still_present(request: Request, agent_id: str) -> Optional[User]:
    """Refresh the agent's presence, then check they may still have it (signed in, active, an agent): the user
    as they are now, or None with the presence dropped. Checked after the heartbeat, so a deactivation that
    lands in between is never undone by it."""
    queue = request.app.ctx.queue
    status, changed = await request.app.ctx.presence.beat(agent_id)
    _, user = await signed_in(request)
    if user is None or not user.can("agent"):
        await queue.offline(agent_id)
        return None
    if changed:
        await queue.publish("presence", "", agent_id=agent_id, status=status)
    return user


async def stream_line(queue: HandoffQueue, user: User, data: Optional[str]) -> str:
    """What the stream sends for one published event (its JSON): the event, or a ping (it also keeps proxies from
    closing an idle stream) when there was none or it is about a conversation this agent may not read."""
    if data is None:
        return PING
    try:
        event = json.loads(data)
    except ValueError:
        return PING
    if event.get("type") in FOR_READERS and not serves(user, await queue.get(str(event.get("conversation_id") or ""))):
        return PING
    return f"data: {data}\n\n"
