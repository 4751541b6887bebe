"""The REST channel (`POST /webhooks/rest/webhook`, Rasa's protocol) for a shop's own back end, not for browsers.

Rasa's RestInput takes any sender id from anyone who reaches the port, so anyone could write into any
conversation, a widget visitor's included. This one is off until REST_TOKEN is set, and then takes only
requests with `Authorization: Bearer <REST_TOKEN>`. It also checks the body (a JSON object, a printable
sender id, a message within the widget's size limit, metadata an object) and records every message as
channel "rest", whatever the body says. Body size is capped for the whole server (MAX_REQUEST_BYTES).
"""
from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot.logsafe import loggable
from bot.settings import ENV_REST_TOKEN, get_settings
from bot.turn_budget import budgeted

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128
BEARER = "Bearer "


def valid_sender(sender: Any) -> bool:
    """An id fit for URLs and logs: printable, no spaces or line breaks, not too long."""
    return (isinstance(sender, str) and 0 < len(sender) <= MAX_SENDER_CHARS and sender.isprintable()
            and not any(ch.isspace() for ch in sender))


def token_matches(header: Optional[str], token: str) -> bool:
    if not header or not header.startswith(BEARER):
        return False
    given = header[len(BEARER):].strip().encode("utf-8", "replace")
    return hmac.compare_digest(given, token.encode("utf-8"))


class TokenRestInput(RestInput):
    """Registered in credentials.yml as `bot.channels.rest.TokenRestInput`; its URL stays /webhooks/rest/."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return cls()

    def __init__(self, token: Optional[str] = None, max_message_bytes: Optional[int] = None) -> None:
        self.token = token  # None: from the settings when Rasa builds the blueprint
        self.max_message_bytes = max_message_bytes

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if self.token is None:
            self.token = get_settings().rest_token
        if self.max_message_bytes is None:
            self.max_message_bytes = get_settings().widget_max_message_bytes  # the same limit as the widget's
        budget = get_settings().turn_budget_seconds

        async def in_budget(message: UserMessage) -> Any:
            with budgeted(budget):  # bot.turn_budget: the turn's actions end within it
                return await on_new_message(message)

        blueprint = super().blueprint(in_budget)
        blueprint.middleware("request")(self.refuse)  # runs before Rasa's handler, on this blueprint's routes only
        return blueprint

    def _extract_input_channel(self, request: Request) -> str:
        return self.name()  # the body may not pass itself off as the widget

    async def refuse(self, request: Request) -> Optional[response.HTTPResponse]:
        """A JSON error for a message that may not reach Rasa; None lets it through."""
        if request.method != "POST":
            return None
        refusal = self.refusal(request)
        if refusal is None:
            return None
        status, why = refusal
        logger.info("refused a REST message (%d) from %s: %s", status, loggable(request.ip), why)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return response.json({"error": why}, status=status, headers=headers)

    def refusal(self, request: Request) -> Optional[Tuple[int, str]]:
        if not self.token:
            return 403, f"the REST channel is off; set {ENV_REST_TOKEN} to use it"
        if not token_matches(request.headers.get("authorization"), self.token):
            return 401, "a REST message needs the header Authorization: Bearer <REST_TOKEN>"
        try:
            body = request.json
        except InvalidUsage:
            body = None
        if not isinstance(body, dict):
            return 400, "the body must be a JSON object"
        return self.body_refusal(body)

    def body_refusal(self, body: Dict[str, Any]) -> Optional[Tuple[int, str]]:
        if not valid_sender(body.get("sender")):
            return 400, f"sender must be printable text without spaces, 1-{MAX_SENDER_CHARS} characters"
        message = body.get("message")
        if not isinstance(message, str):
            return 400, "message must be text"
        assert self.max_message_bytes is not None  # blueprint() set it
        if len(message.encode("utf-8", "replace")) > self.max_message_bytes:
            return 413, f"message too long: at most {self.max_message_bytes} bytes"
        if not isinstance(body.get("metadata") or {}, dict):
            return 400, "metadata must be an object"
        return None
