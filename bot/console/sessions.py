"""Console login sessions in Redis (any console process can serve any agent), and the guard on routes.

The cookie holds a random token (HttpOnly, SameSite=Strict, Secure on HTTPS); Redis keeps only its
hash. Every state-changing request must also carry the session's CSRF token in X-CSRF-Token. Sessions live on the
queue's Redis, so its errors come out as the queue's (QueueUnavailable).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import redis.asyncio as aioredis
from sanic import response
from sanic.models.handler_types import RouteHandler
from sanic.request import Request

from bot import redis_keys as keys
from bot.console.errors import BadInput, Forbidden, NotSignedIn, PageUnavailable, TooLarge
from bot.console.users import User
from bot.handoff.queue import QueueUnavailable, raises_queue_unavailable
from bot.redis_clients import pipelined

COOKIE = "console_session"
SESSION_TTL = 12 * 3600
LOGIN_WINDOW_SECONDS = 900
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _key(token: str) -> str:
    return keys.CONSOLE_SESSION.format(token_hash=hashlib.sha256(token.encode()).hexdigest())


def login_keys(username: str, address: str) -> Tuple[str, str]:
    """The sign-in attempt counters of a username and of a client address."""
    return (keys.CONSOLE_LOGIN_TRIES.format(kind="user", value=username[:64]),
            keys.CONSOLE_LOGIN_TRIES.format(kind="address", value=address[:64]))


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt, counted: `wait` seconds until it may be tried again (0: check the password now);
    `first_refused` when this is the attempt that used the last try up (worth one log line, not thousands)."""
    wait: int
    first_refused: bool = False


# the success of a sign-in gives its try back to the address (an office behind one address is not locked out by
# its own agents signing in); atomic, so a key that just expired is not left at -1 with no expiry
_GIVE_BACK = """
if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
"""


@raises_queue_unavailable
class Sessions:
    def __init__(self, redis: aioredis.Redis, tries_per_user: int = 10, tries_per_address: int = 30) -> None:
        self.redis = redis
        self.limits = (tries_per_user, tries_per_address)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def create(self, user_id: int) -> Dict[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        await self.redis.set(_key(token), json.dumps({"user_id": user_id, "csrf": csrf}), ex=SESSION_TTL)
        return {"token": token, "csrf": csrf}

    async def get(self, token: Optional[str]) -> Optional[Dict[str, Any]]:
        if not token or len(token) > 100:
            return None
        raw = await self.redis.get(_key(token))
        if raw is None:
            return None
        await self.redis.expire(_key(token), SESSION_TTL)  # sliding: an agent on shift stays signed in
        return json.loads(raw)

    async def end(self, token: Optional[str]) -> None:
        if token:
            await self.redis.delete(_key(token))

    async def login_attempt(self, username: str, address: str) -> Attempt:
        """Count the attempt first, then decide: checking first let 30 parallel guesses all through. Each counter
        starts its window at its first attempt (SET NX EX) and counts in the same transaction (MULTI)."""
        def fill(pipe: Any) -> None:
            for key in login_keys(username, address):
                pipe.set(key, 0, ex=LOGIN_WINDOW_SECONDS, nx=True)
                pipe.incr(key)
                pipe.ttl(key)
        counted = await pipelined(self.redis, fill, transaction=True)
        counts, ttls = counted[1::3], counted[2::3]
        over = [i for i, limit in enumerate(self.limits) if counts[i] > limit]
        if not over:
            return Attempt(0)
        return Attempt(max(1, *(ttls[i] for i in over)), any(counts[i] == self.limits[i] + 1 for i in over))

    async def login_succeeded(self, username: str, address: str) -> None:
        """The right password: the username's count starts again and the address gets its try back."""
        user_key, address_key = login_keys(username, address)
        await self.redis.delete(user_key)
        await self._give_back(keys=[address_key])


async def signed_in(request: Request) -> Tuple[Optional[Dict[str, Any]], Optional[User]]:
    """(session, user) of the request's cookie while the session lasts and the user is active, else (None, None).
    The user is read afresh each time: a deactivation or a new role counts from the next request on."""
    ctx = request.app.ctx
    session = await ctx.sessions.get(request.cookies.get(COOKIE))
    user = ctx.users.get(session["user_id"]) if session else None
    return (session, user) if user is not None and user.active else (None, None)


def requires(*roles: str, page: bool = False, template: str = "") -> Callable[[RouteHandler], RouteHandler]:
    """Route guard: a signed-in, active user with one of `roles` (admins pass every guard); for unsafe
    methods, the CSRF token too. Pages redirect to /login; API routes are refused with 401/403 (NotSignedIn,
    Forbidden). A page's `template` (which holds no data) is served with the "queue unavailable"
    banner when the sign-in cannot be checked (sessions live in Redis): its script retries until Redis is back."""
    def decorate(handler: RouteHandler) -> RouteHandler:
        @functools.wraps(handler)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> Optional[response.HTTPResponse]:
            try:
                session, user = await signed_in(request)
            except QueueUnavailable as err:
                if template:
                    raise PageUnavailable(str(err), template) from err
                raise
            if user is None and page:
                return response.redirect("/login")
            if user is None:
                raise NotSignedIn("sign in first")
            if not user.can(*roles):
                raise Forbidden(f"this needs the role {' or '.join(roles)}")
            assert session is not None  # signed_in gives a user only with their session
            if request.method not in SAFE_METHODS:
                sent = request.headers.get("x-csrf-token", "")
                if not hmac.compare_digest(sent.encode(), session["csrf"].encode()):
                    raise Forbidden("missing or wrong CSRF token; reload the page")
            request.ctx.user, request.ctx.session = user, session
            return await handler(request, *args, **kwargs)
        return guarded
    return decorate


def set_session_cookie(resp: response.HTTPResponse, token: str, secure: bool) -> None:
    resp.cookies[COOKIE] = token
    cookie = resp.cookies[COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = SESSION_TTL
    if secure:
        cookie["secure"] = True


def clear_session_cookie(resp: response.HTTPResponse) -> None:
    resp.cookies[COOKIE] = ""
    resp.cookies[COOKIE]["max-age"] = 0
    resp.cookies[COOKIE]["path"] = "/"


def text_field(data: Dict[str, Any], key: str, limit: int, what: str) -> str:
    """The stripped text of data[key]; refused with the reason when it is missing or not text (BadInput, 400) or
    longer than `limit` characters (TooLarge, 413). Nothing is cut short: what is kept is what was sent."""
    value = data.get(key)
    if not isinstance(value, (str, type(None))):
        raise BadInput(f"the {what} must be text")
    text = (value or "").strip()
    if not text:
        raise BadInput(f"write the {what} first")
    if len(text) > limit:
        raise TooLarge(f"a {what} can be at most {limit} characters; this one has {len(text)}")
    return text


def json_body(request: Request) -> Dict[str, Any]:
    """The request's JSON object, or {} when it is missing or malformed (routes then say what is missing)."""
    try:
        data = request.json
    except Exception:  # Sanic raises on malformed JSON
        data = None
    return data if isinstance(data, dict) else {}
