"""The console's operations routes: `GET /livez`, `GET /readyz` (Redis, SQL, Rasa's HTTP API; bot.health) and
`GET /metrics` (Prometheus, bot.metrics), where the queue's length and the agents online are read at scrape time.
nginx does not serve /metrics (cluster/); /health stays as it was, for existing checks."""
from __future__ import annotations

import logging

from sanic import Blueprint, response
from sanic.request import Request

from bot import health, metrics
from bot.handoff.queue import HandoffQueue

logger = logging.getLogger(__name__)

bp = Blueprint("ops")


@bp.get("/livez")
async def livez(_: Request) -> response.HTTPResponse:
    return response.json({"status": "ok"})


@bp.get("/readyz")
async def readyz(request: Request) -> response.HTTPResponse:
    settings, queue = request.app.ctx.settings, request.app.ctx.queue
    status, body = await health.readiness({
        "redis": lambda: health.redis_ping(queue.redis), "sql": health.sql_check(settings.sql_url),
        "rasa": health.http_check(settings.rasa_api_url + "/"),
    })
    return response.json(body, status=status)


async def count_handoffs(queue: HandoffQueue) -> None:
    """The queue's gauges as Redis has them now; unreachable, they keep their last value (dependency_up says so)."""
    try:
        waiting = await queue.waiting()
        agents = await queue.agents()
    except Exception as err:  # noqa: BLE001 (a scrape must answer while Redis is down)
        logger.warning("metrics: the handoff queue is unavailable: %s", health.reason(err))
        metrics.DEPENDENCY_UP.labels("redis").set(0)
        return
    metrics.QUEUE_LENGTH.set(len(waiting))
    metrics.AGENTS_ONLINE.set(sum(1 for agent in agents if agent.status != "offline"))


@bp.get("/metrics")
async def scrape(request: Request) -> response.HTTPResponse:
    await count_handoffs(request.app.ctx.queue)
    body, content_type = metrics.render()
    return response.raw(body, content_type=content_type)
