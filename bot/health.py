"""Liveness and readiness, the same on every server (a Rasa replica, the console).

`/livez` says only that the process serves requests: an orchestrator restarts it when that fails. `/readyz` checks
what a turn needs (Redis, SQL, and per server the model or the action server, Rasa's API): a proxy or orchestrator
stops sending it visitors while it answers 503, with which dependency failed, instead of restarting it (a Redis
outage is not cured by restarting every replica). Each check is bounded by CHECK_SECONDS; all run at once."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Dict, Optional, Tuple

import aiohttp
import redis.asyncio as aioredis
import sqlalchemy as sa

from bot import db
from bot.metrics import DEPENDENCY_UP

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
MAX_REASON = 200  # characters of an error in the answer: a type and the start of its message
Check = Callable[[], Awaitable[None]]


async def redis_ping(client: aioredis.Redis) -> None:
    await client.ping()


def sql_check(url: str) -> Check:
    def select_one() -> None:
        with db.engine(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    async def check() -> None:
        await asyncio.to_thread(select_one)
    return check


def http_check(url: str) -> Check:
    """The URL answers 2xx."""
    async def check() -> None:
        timeout = aiohttp.ClientTimeout(total=CHECK_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"{url} answered {resp.status}")
    return check


def reason(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return text[:MAX_REASON]


async def _run(name: str, check: Check) -> Optional[str]:
    """None when the check passed, else why not (and it is logged)."""
    try:
        await asyncio.wait_for(check(), CHECK_SECONDS)
    except asyncio.TimeoutError:
        failed: Optional[str] = f"no answer within {CHECK_SECONDS} s"
    except Exception as err:  # noqa: BLE001 (any failure of a dependency is "not ready", said in the answer)
        failed = reason(err)
    else:
        failed = None
    DEPENDENCY_UP.labels(name).set(0 if failed else 1)
    if failed:
        logger.warning("readiness: %s failed: %s", name, failed)
    return failed


async def readiness(checks: Dict[str, Check]) -> Tuple[int, dict]:
    """(HTTP status, body) of a /readyz answer: 200 when every check passed, else 503 naming the failed ones."""
    results = await asyncio.gather(*(_run(name, check) for name, check in checks.items()))
    outcome = dict(zip(checks, results, strict=True))
    failed = [name for name, why in outcome.items() if why]
    body = {"status": "not ready" if failed else "ready", "failed": failed,
            "checks": {name: why or "ok" for name, why in outcome.items()}}
    return (503 if failed else 200), body
