"""Loading a new model into the running Rasa server: `POST /webhooks/model/load` {"model_file": "current.tar.gz"}
and `GET /webhooks/model/status`, both with the Rasa API token (`Authorization: Bearer <token>` or `?token=`).

Rasa's own `PUT /model` builds a whole new Agent (a new tracker store and event broker each time, leaking the
touchpoint broker's writer), and its model-server pull ties the server's start to another service and loads on
the event loop. This does what the pull does, `Agent.load_model` on the running agent (same tracker store,
lock store, broker), but builds the new processor in a worker thread, so live conversations go on being
answered while it loads, then swaps it in. Only files inside models_dir may be named.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot.logsafe import loggable
from bot.settings import get_settings

logger = logging.getLogger(__name__)

BEARER = "Bearer "
MAX_NAME = 255


def given_token(request: Request) -> str:
    header = request.headers.get("authorization") or ""
    if header.startswith(BEARER):
        return header[len(BEARER):].strip()
    return str(request.args.get("token") or "")


def token_ok(given: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def model_path(models_dir: Path, name: Any) -> Optional[Path]:
    """The model file `name` names inside models_dir, or None: not a relative .tar.gz path, outside the folder
    (`..`, a symlink out of it), or missing."""
    if not isinstance(name, str) or not name.endswith(".tar.gz") or len(name) > MAX_NAME or "\0" in name:
        return None
    if Path(name).is_absolute():
        return None
    root = models_dir.resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def swap_in(agent: Any, processor: Any) -> None:
    """What Agent.load_model does after building the processor, on the event loop (no await between)."""
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator

    agent.processor = processor
    agent.domain = processor.domain
    agent._set_fingerprint(None)
    agent.tracker_store.domain = agent.domain
    if isinstance(agent.nlg, TemplatedNaturalLanguageGenerator):
        agent.nlg.responses = agent.domain.responses if agent.domain else {}


def build_processor(agent: Any, path: Path) -> Any:
    from rasa.core.processor import MessageProcessor

    return MessageProcessor(model_path=path, tracker_store=agent.tracker_store, lock_store=agent.lock_store,
                            action_endpoint=agent.action_endpoint, generator=agent.nlg,
                            http_interpreter=agent.http_interpreter)


def loaded(agent: Any) -> Dict[str, Any]:
    processor = getattr(agent, "processor", None)
    return {"model_file": str(processor.model_filename) if processor else None,
            "model_id": agent.model_id if processor else None}


class ModelInput(InputChannel):
    """Registered in credentials.yml as `bot.channels.model.ModelInput`; no visitor ever talks to it."""

    @classmethod
    def name(cls) -> str:
        return "model"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return cls()

    def __init__(self, token: Optional[str] = None, models_dir: Optional[Path] = None) -> None:
        self.token = token  # None: from the settings when Rasa builds the blueprint
        self.models_dir = models_dir
        self.loading = asyncio.Lock()
        self.loaded_file: Optional[str] = None  # the name asked for (processor.model_filename is a temp copy's)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        self.token = settings.rasa_token if self.token is None else self.token
        self.models_dir = self.models_dir or settings.models_dir
        bp = Blueprint("model_webhook", url_prefix="/webhooks/model")

        async def status(request: Request) -> response.HTTPResponse:  # Sanic routes are functions, not methods
            return await self.status(request)

        async def load(request: Request) -> response.HTTPResponse:
            return await self.load(request)

        bp.add_route(status, "/status", methods=["GET"])
        bp.add_route(load, "/load", methods=["POST"])
        return bp

    def refusal(self, request: Request) -> Optional[response.HTTPResponse]:
        assert self.token is not None  # blueprint() set it
        if not token_ok(given_token(request), self.token):
            return response.json({"error": "the Rasa API token is required"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
        if getattr(request.app.ctx, "agent", None) is None:
            return response.json({"error": "the server has no agent yet"}, status=503)
        return None

    async def status(self, request: Request) -> response.HTTPResponse:
        refused = self.refusal(request)
        if refused:
            return refused
        return response.json({**loaded(request.app.ctx.agent), "loaded": self.loaded_file,
                              "loading": self.loading.locked()})

    async def load(self, request: Request) -> response.HTTPResponse:
        refused = self.refusal(request)
        if refused:
            return refused
        try:
            body = request.json
        except InvalidUsage:
            body = None
        assert self.models_dir is not None
        name = body.get("model_file") if isinstance(body, dict) else None
        path = model_path(self.models_dir, name)
        if path is None:
            return response.json({"error": "model_file must name a .tar.gz file inside the models folder"}, status=400)
        async with self.loading:  # one load at a time: two would both hold a model in memory
            started = time.monotonic()
            agent = request.app.ctx.agent
            try:
                processor = await asyncio.to_thread(build_processor, agent, path)
            except Exception as err:  # noqa: BLE001 (a broken model file: the old model goes on serving)
                logger.exception("could not load the model %s", loggable(str(name)))
                return response.json({"error": f"could not load {name}: {type(err).__name__}"}, status=422)
            swap_in(agent, processor)
            self.loaded_file = str(name)
        seconds = round(time.monotonic() - started, 1)
        logger.info("loaded the model %s in %.1f s", loggable(str(name)), seconds)
        return response.json({**loaded(agent), "model_file": str(name), "seconds": seconds})
