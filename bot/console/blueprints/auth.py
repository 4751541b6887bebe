"""Sign in and out, who am I, and (admins) the users."""
from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.errors import BadInput, NotSignedIn, TooManyAttempts, UnsupportedMedia
from bot.console.sessions import COOKIE, Attempt, clear_session_cookie, json_body, requires, set_session_cookie
from bot.proxies import client_address

logger = logging.getLogger(__name__)
bp = Blueprint("auth")


@bp.post("/api/login")
async def login(request: Request) -> response.HTTPResponse:
    ctx = request.app.ctx
    if request.content_type.split(";")[0].strip() != "application/json":
        raise UnsupportedMedia("send JSON")  # also keeps plain cross-site forms out
    data = json_body(request)
    username = str(data.get("username") or "").strip().lower()[:64]
    address = client_address(request, ctx.settings)  # behind a proxy: the one it names
    attempt = await ctx.sessions.login_attempt(username, address)  # counted before any hash is computed
    if attempt.wait:
        raise too_many_attempts(username, address, attempt)
    user = await asyncio.to_thread(ctx.users.authenticate, username, str(data.get("password") or ""))
    if user is None:
        raise NotSignedIn("wrong username or password")
    await ctx.sessions.login_succeeded(username, address)
    session = await ctx.sessions.create(user.id)
    resp = response.json({"user": user.public(), "csrf": session["csrf"]})
    set_session_cookie(resp, session["token"], ctx.settings.console_secure_cookies or request.scheme == "https")
    return resp


def too_many_attempts(username: str, address: str, attempt: Attempt) -> TooManyAttempts:
    if attempt.first_refused:  # once per locked name or address, not once per refused guess
        logger.warning("sign-ins locked for %d s: username %r, address %r", attempt.wait, username, address)
    minutes = -(-attempt.wait // 60)
    return TooManyAttempts(f"too many sign-in attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}",
                           retry_after=attempt.wait)


@bp.post("/api/logout")
@requires()
async def logout(request: Request) -> response.HTTPResponse:
    await request.app.ctx.sessions.end(request.cookies.get(COOKIE))
    if request.ctx.user.can("agent"):
        await request.app.ctx.queue.offline(request.ctx.user.username)
    resp = response.json({"ok": True})
    clear_session_cookie(resp)
    return resp


@bp.get("/api/me")
@requires()
async def me(request: Request) -> response.HTTPResponse:
    return response.json({"user": request.ctx.user.public(), "csrf": request.ctx.session["csrf"]})


@bp.get("/api/users")
@requires("admin")
async def list_users(request: Request) -> response.HTTPResponse:
    return response.json({"users": [u.public() for u in request.app.ctx.users.all()]})


@bp.post("/api/users")
@requires("admin")
async def create_user(request: Request) -> response.HTTPResponse:
    data = json_body(request)
    user = await asyncio.to_thread(  # a UserError is answered 400 (bot.console.errors)
        request.app.ctx.users.create, data.get("username"), data.get("password"), data.get("role") or "agent",
        data.get("name") or "", data.get("teams") or [], data.get("max_chats") or 3)
    return response.json({"user": user.public()}, status=201)


@bp.patch("/api/users/<user_id:int>")
@requires("admin")
async def update_user(request: Request, user_id: int) -> response.HTTPResponse:
    data = json_body(request)
    if not data:
        raise BadInput("send a JSON object with the fields to change")
    if user_id == request.ctx.user.id and (data.get("role", "admin") != "admin" or data.get("active") is False):
        raise BadInput("you cannot demote or deactivate yourself")
    user = await asyncio.to_thread(request.app.ctx.users.update, user_id, data)  # UserError: 400
    if not (user.active and user.can("agent")):  # auto-assign passes them over from now on, not at their next heartbeat
        await request.app.ctx.queue.offline(user.username)
    return response.json({"user": user.public()})
