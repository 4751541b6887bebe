"""Every turn has a time budget (TURN_BUDGET_SECONDS): a custom action that would take the turn past it is cut
off, the visitor is told the system is slow and offered a person, and the turn ends at once.

Why the action call, and not the whole turn or our actions' own calls:
- The call to the action server is the one wait in a turn with no bound of ours: Rasa gives it 300 s, hard-coded
  (rasa.core.constants.DEFAULT_REQUEST_TIMEOUT), while a conversation's lock lives 60 s. NLU and the policies are
  CPU work in this process; the tracker load and save are the tracker store's, bounded by the database's own
  timeouts (and a turn that failed to save must fail loudly, not be cut off half saved).
- Cutting off the whole turn (asyncio.wait_for around the channel's call into Rasa) would cancel it anywhere:
  between an action's side effects and the tracker save, or inside the save, losing the visitor's message or
  leaving half a turn. Cut off at the action call, the turn goes on as Rasa's own path for a failed action goes
  (the action is logged with none of its events), then we add the notice and a follow-up `action_listen`: the
  turn ends and is saved whole, and the lock is released as after any turn.
- Our actions' own calls (the order API, Redis, SQL) have their own timeouts, but not all shorter than the budget
  (the order API's GETs retry: up to 3 x (2 + ORDERS_TIMEOUT) s); a bound on the action call covers every one of
  them, and those written later. Settings checks that one order API call fits in the budget, so a slow shop API is
  still told as the order answer's own "unavailable" message when it can be.
The aiohttp request is cancelled at the deadline, so a late answer from the action server is never read: it can
neither reach the visitor after the notice nor add events to the tracker.

The deadline is set by the channel (`budgeted`) when the visitor's turn starts, before Rasa issues its lock
ticket, so the actions end within the budget of the ticket's start; the lock lives longer than that
(Settings.lock_lifetime_seconds), so no second turn of the conversation can run beside a slow one. Calls outside a
channel's turn (the HTTP API's `execute`) get the whole budget per action.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from typing import Any, Dict, Iterator, List, Optional

from rasa.core.actions import action as rasa_action
from rasa.core.actions import forms as rasa_forms
from rasa.shared.core.events import BotUttered, Event, FollowupAction
from rasa.shared.exceptions import RasaException

from bot.logsafe import loggable
from bot.metrics import ACTION_SECONDS, ACTION_TIMEOUTS, ERRORS, TURN_TIMEOUTS
from bot.responses import domain_responses

logger = logging.getLogger(__name__)

SLOW_NOTICE = "utter_turn_slow"  # domain/slow.yml
FAILED_NOTICE = "utter_action_failed"
ACTION_LISTEN = "action_listen"

_deadline: contextvars.ContextVar[Optional[float]] = contextvars.ContextVar("turn_deadline", default=None)


@contextlib.contextmanager
def budgeted(seconds: float) -> Iterator[float]:
    """The current task's turn must end its actions within `seconds` (monotonic); an outer budget stays."""
    outer = _deadline.get()
    if outer is not None:
        yield outer
        return
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield _deadline.get() or 0.0
    finally:
        _deadline.reset(token)


def remaining(default: float) -> float:
    """Seconds left of the current turn's budget (may be <= 0); `default` outside a budgeted turn."""
    deadline = _deadline.get()
    return default if deadline is None else deadline - time.monotonic()


def notice_events(name: str) -> List[Event]:
    """The notice `name` from the domain files (text and buttons) as the bot's answer, then the end of the turn.

    Read from the domain files, not the model's domain, as the widget's notices are: a response added after the
    model was trained is still there."""
    response: Dict[str, Any] = domain_responses()[name][0]
    data = {"buttons": list(response["buttons"])} if response.get("buttons") else {}
    return [BotUttered(response["text"], data, {"utter_action": name}), FollowupAction(ACTION_LISTEN)]


class BudgetedRemoteAction(rasa_action.RemoteAction):
    """Rasa's call to the action server, within what is left of the turn's budget (see the module's docstring)."""

    budget_seconds = 10.0  # install() sets the budget the settings give

    async def run(self, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Event]:
        left = remaining(self.budget_seconds)
        started = time.monotonic()
        try:
            if left <= 0:
                raise asyncio.TimeoutError
            return await asyncio.wait_for(super().run(output_channel, nlg, tracker, domain), left)
        except asyncio.TimeoutError:
            return self._timed_out(tracker, time.monotonic() - started)
        except rasa_action.ActionExecutionRejection:
            raise  # the policies predict another action: Rasa's own path
        except RasaException as err:  # the action server is down, or the action crashed (HTTP 500)
            return self._failed(tracker, err)
        finally:
            ACTION_SECONDS.labels(self.name()).observe(time.monotonic() - started)

    def _timed_out(self, tracker: Any, seconds: float) -> List[Event]:
        channel = tracker.get_latest_input_channel() or "unknown"
        logger.warning("action %s in %s cut off after %.1f s: past the turn budget (%g s)", loggable(self.name()),
                       loggable(tracker.sender_id), seconds, self.budget_seconds)
        ACTION_TIMEOUTS.labels(self.name()).inc()
        TURN_TIMEOUTS.labels(channel).inc()
        return notice_events(SLOW_NOTICE)

    def _failed(self, tracker: Any, err: Exception) -> List[Event]:
        logger.error("action %s in %s failed: %s", loggable(self.name()), loggable(tracker.sender_id),
                     loggable(err))
        ERRORS.labels("actions", "action_failed").inc()
        return notice_events(FAILED_NOTICE)


def install(budget_seconds: float) -> None:
    """Make Rasa call custom actions (and forms' validation actions) through BudgetedRemoteAction. Rasa builds
    them by these module names at each turn; call this in the Rasa process before it starts (bot.rasa_server)."""
    BudgetedRemoteAction.budget_seconds = budget_seconds
    rasa_action.RemoteAction = BudgetedRemoteAction
    rasa_forms.RemoteAction = BudgetedRemoteAction
