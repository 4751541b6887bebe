"""The Rasa server's operations routes, at its root: `GET /livez`, `GET /readyz` (Redis, SQL, the model loaded,
the action server reachable; bot.health) and `GET /metrics` (Prometheus, bot.metrics). Registered in
credentials.yml as `bot.channels.ops.OpsInput`; no visitor talks to it, and nginx serves none of it (cluster/)."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot import health, metrics
from bot.redis_clients import async_client
from bot.settings import Settings, get_settings


def action_server_health(settings: Settings) -> str:
    """The action server's /health beside its /webhook (rasa-sdk serves both)."""
    return settings.actions_url.rsplit("/", 1)[0] + "/health"


def model_check(request: Request) -> health.Check:
    async def check() -> None:
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or getattr(agent, "processor", None) is None:
            raise RuntimeError("no model loaded")
    return check


class OpsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "ops"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return cls()

    def url_prefix(self) -> str:
        return "/"  # Rasa joins it to /webhooks/: the root, where orchestrators and Prometheus look

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        redis = async_client(settings.redis.url(), socket_timeout=health.CHECK_SECONDS)  # lazy
        bp = Blueprint("ops_webhook")

        async def livez(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        async def readyz(request: Request) -> response.HTTPResponse:
            status, body = await health.readiness({
                "redis": lambda: health.redis_ping(redis), "sql": health.sql_check(settings.sql_url),
                "model": model_check(request), "actions": health.http_check(action_server_health(settings)),
            })
            return response.json(body, status=status)

        async def scrape(_: Request) -> response.HTTPResponse:
            body, content_type = metrics.render()
            return response.raw(body, content_type=content_type)

        bp.add_route(livez, "/livez", methods=["GET"])
        bp.add_route(readyz, "/readyz", methods=["GET"])
        bp.add_route(scrape, "/metrics", methods=["GET"])
        return bp
