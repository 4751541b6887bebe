"""The console's errors and the one place that answers them. Handlers raise; the factory registers `register`,
which maps each error type to its HTTP answer, always JSON: {"error": message, **fields}.

- a refusal of the console's own (ConsoleError: BadInput, NotSignedIn, Forbidden, NotFound, Conflict, TooLarge,
  UnsupportedMedia, TooManyAttempts): its status, message and fields
- a user the admin asked for that cannot be made or changed (UserError): 400
- the trainer's refusals: a change to the NLU data or an undo that no longer applies (NluDataError, TrainingError):
  400; a training while another runs (TrainingBusy): 409; an unknown training job (JobNotFound): 404
- the model store's: no such model (ModelNotFound) 404, the gate's refusal (ActivationRefused, with its reasons) and
  another activation under way (ActivationBusy) 409, anything else it refuses (ModelError: no reason given, nothing
  to roll back to) 400
- a store that did not answer (the handoff records in SQL, the queue and sessions in Redis): 503 with a `code`
  the pages recognise ("queue_unavailable", "records_unavailable"; common.js shows a banner and retries), counted in
  bot.metrics.ERRORS; a page whose sign-in could not be checked (PageUnavailable) is served as its empty shell, 503
- Rasa unreachable or refusing: 502
- Sanic's own (404 for an unknown URL, 400 for a body it cannot read...): its status
- anything else: 500, logged, with no detail for the client
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from bot.console.users import UserError
from bot.handoff.queue import QueueUnavailable
from bot.handoff.rasa_api import RasaUnavailable
from bot.handoff.records import RecordsUnavailable
from bot.logsafe import loggable
from bot.metrics import ERRORS
from bot.training.changes import TrainingError
from bot.training.jobs import JobNotFound, TrainingBusy
from bot.training.models import ActivationBusy, ActivationRefused, ModelError, ModelNotFound
from bot.training.nlu_data import NluDataError

logger = logging.getLogger(__name__)
UNEXPECTED = "something went wrong on our side; the log has the details"
UNAVAILABLE = (RecordsUnavailable, QueueUnavailable)
TEMPLATES = Path(__file__).resolve().parent / "templates"


class PageUnavailable(QueueUnavailable):
    """A page whose sign-in could not be checked: answered with its `template` (no data in it), whose script shows
    the "queue unavailable" banner and retries."""

    def __init__(self, message: str, template: str) -> None:
        super().__init__(message)
        self.template = template


class ConsoleError(Exception):
    """A request the console refuses: the client is told `status`, the message and the extra fields."""
    status = 400

    def __init__(self, message: str, headers: Optional[Dict[str, str]] = None, **fields: Any) -> None:
        super().__init__(message)
        self.message, self.headers, self.fields = message, headers or {}, fields


class BadInput(ConsoleError):
    """The request says something the console cannot do (a missing field, a value not allowed)."""
    status = 400


class NotSignedIn(ConsoleError):
    status = 401


class Forbidden(ConsoleError):
    """Signed in, but not allowed: the role, the CSRF token, or a conversation of another team."""
    status = 403


class NotFound(ConsoleError):
    status = 404


class Conflict(ConsoleError):
    """Not yours, or not any more: the conversation or ticket is not in a state that allows it."""
    status = 409


class TooLarge(ConsoleError):
    status = 413


class UnsupportedMedia(ConsoleError):
    status = 415


class TooManyAttempts(ConsoleError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


def error(status: int, message: str, **fields: Any) -> response.HTTPResponse:
    return response.json({"error": message, **fields}, status=status)


async def refused(_request: Request, exc: ConsoleError) -> response.HTTPResponse:
    resp = error(exc.status, exc.message, **exc.fields)
    resp.headers.update(exc.headers)
    return resp


async def bad_user(_request: Request, exc: UserError) -> response.HTTPResponse:
    return error(400, str(exc))


async def bad_change(_request: Request, exc: ValueError) -> response.HTTPResponse:
    return error(400, str(exc))


async def training_busy(_request: Request, exc: TrainingBusy) -> response.HTTPResponse:
    return error(409, str(exc))


async def no_job(_request: Request, exc: JobNotFound) -> response.HTTPResponse:
    return error(404, str(exc.args[0]) if exc.args else "no such training job")


async def model_refused(_request: Request, exc: ModelError) -> response.HTTPResponse:
    if isinstance(exc, ActivationRefused):
        return error(409, f"the gate refuses this model: {exc}", reasons=exc.reasons)
    return error(404 if isinstance(exc, ModelNotFound) else 409 if isinstance(exc, ActivationBusy) else 400, str(exc))


async def store_unavailable(_request: Request, exc: Exception) -> response.HTTPResponse:
    code = "queue_unavailable" if isinstance(exc, QueueUnavailable) else "records_unavailable"
    ERRORS.labels("console", code).inc()
    logger.warning("console answered 503: %s", loggable(str(exc)))
    if isinstance(exc, PageUnavailable):
        return response.html((TEMPLATES / exc.template).read_text(encoding="utf-8"), status=503)
    return error(503, str(exc), code=code)


async def rasa_unavailable(_request: Request, exc: RasaUnavailable) -> response.HTTPResponse:
    return error(502, str(exc))


async def sanic_error(_request: Request, exc: SanicException) -> response.HTTPResponse:
    return error(getattr(exc, "status_code", 500) or 500, str(exc) or exc.__class__.__name__)


async def unexpected(request: Request, _exc: Exception) -> response.HTTPResponse:
    logger.exception("console error on %s %s", request.method, loggable(request.path))
    return error(500, UNEXPECTED)


def register(app: Sanic) -> None:
    """Every error type's answer on the app (Sanic picks the handler of the nearest class in the error's MRO)."""
    app.exception(ConsoleError)(refused)
    app.exception(UserError)(bad_user)
    app.exception(NluDataError, TrainingError)(bad_change)
    app.exception(TrainingBusy)(training_busy)
    app.exception(JobNotFound)(no_job)
    app.exception(ModelError)(model_refused)
    app.exception(*UNAVAILABLE)(store_unavailable)
    app.exception(RasaUnavailable)(rasa_unavailable)
    app.exception(SanicException)(sanic_error)
    app.exception(Exception)(unexpected)
