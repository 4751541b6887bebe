"""The turn budget (bot.turn_budget): Rasa's call to a real HTTP action server, served in the test, cut off at the
turn's deadline; the settings that keep the lock's life longer than a turn."""
import asyncio
import time
import uuid

import pytest
from rasa.core.actions import action as rasa_action
from rasa.core.actions import forms as rasa_forms
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, FollowupAction, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sanic import Sanic, response

from bot import turn_budget
from bot.metrics import REGISTRY
from bot.rasa_server import check_lock_lifetime
from bot.responses import domain_responses
from bot.settings import ENV_ORDERS_TIMEOUT, ENV_TURN_BUDGET_SECONDS, Settings, SettingsError
from bot.turn_budget import BudgetedRemoteAction, budgeted, remaining
from tests.conftest import free_port
from tests.sanic_server import serving

SLOW = 3.0  # seconds the slow action takes: well past the tests' 1 s budget


class ActionServer:
    """The action server's webhook, really over HTTP: action_slow sleeps SLOW s, action_crash answers 500,
    action_reject 400 (rasa-sdk's rejection); any other sets a slot and says "done"."""

    def __init__(self) -> None:
        self.calls, self.finished = [], []
        self.app = Sanic(f"budget_actions_{uuid.uuid4().hex}")
        self.app.post("/webhook")(self.webhook)

    async def webhook(self, request):
        name = request.json["next_action"]
        self.calls.append(name)
        if name == "action_crash":
            return response.json({"error": "boom"}, status=500)
        if name == "action_reject":
            return response.json({"action_name": name, "error": "no"}, status=400)
        if name == "action_slow":
            await asyncio.sleep(SLOW)
        self.finished.append(name)
        return response.json({"events": [{"event": "slot", "name": "late", "value": name}],
                              "responses": [{"text": f"done: {name}"}]})


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def call(url, name, budget=None):
    """The action run as Rasa runs it: (events, what reached the output channel, seconds it took)."""
    output = CollectingOutputChannel()
    tracker = DialogueStateTracker(f"budget-{uuid.uuid4().hex}", [])
    domain = Domain.empty()
    act = BudgetedRemoteAction(name, EndpointConfig(url))
    started = time.monotonic()
    if budget is None:
        events = await act.run(output, TemplatedNaturalLanguageGenerator({}), tracker, domain)
    else:
        with budgeted(budget):
            events = await act.run(output, TemplatedNaturalLanguageGenerator({}), tracker, domain)
    return events, output.messages, time.monotonic() - started


def test_a_slow_action_is_cut_off_at_the_budget_with_the_offer_of_a_person_and_counted():
    server = ActionServer()

    async def scenario():
        async with serving(server.app) as base:
            before = (sample("shopbot_action_timeouts_total", action="action_slow"),
                      sample("shopbot_turn_timeouts_total", channel="unknown"))
            events, sent, seconds = await call(f"{base}/webhook", "action_slow", budget=1.0)
            await asyncio.sleep(SLOW)  # the action server would have answered by now
            after = (sample("shopbot_action_timeouts_total", action="action_slow"),
                     sample("shopbot_turn_timeouts_total", channel="unknown"))
            return events, sent, seconds, before, after

    events, sent, seconds, before, after = asyncio.run(scenario())
    assert 1.0 <= seconds < 1.8
    notice, followup = events
    assert isinstance(notice, BotUttered) and notice.text == domain_responses()["utter_turn_slow"][0]["text"]
    assert [b["payload"] for b in notice.data["buttons"]] == ["/contact_human_agent"]
    assert followup == FollowupAction("action_listen")  # the turn ends here
    assert not any(isinstance(e, SlotSet) for e in events) and sent == []  # nothing of the late answer
    assert server.calls == ["action_slow"] and server.finished == []  # the request was dropped, not read late
    assert after == (before[0] + 1, before[1] + 1)


def test_a_turn_whose_budget_is_spent_does_not_call_the_action_server():
    server = ActionServer()

    async def scenario():
        async with serving(server.app) as base:
            with budgeted(0.5):
                await asyncio.sleep(0.6)  # e.g. spent waiting for the lock, or on an earlier action
                return await call(f"{base}/webhook", "action_fast", budget=30)  # the outer budget counts

    events, _, seconds = asyncio.run(scenario())
    assert server.calls == [] and seconds < 0.5
    assert events[0].text == domain_responses()["utter_turn_slow"][0]["text"]


def test_a_quick_action_within_the_budget_is_rasas_own_answer():
    server = ActionServer()

    async def scenario():
        async with serving(server.app) as base:
            before = REGISTRY.get_sample_value("shopbot_action_seconds_count", {"action": "action_fast"}) or 0
            events, _, _ = await call(f"{base}/webhook", "action_fast", budget=5)
            counted = REGISTRY.get_sample_value("shopbot_action_seconds_count", {"action": "action_fast"})
            return events, counted - before

    events, counted = asyncio.run(scenario())
    assert [type(e) for e in events] == [BotUttered, SlotSet] and events[0].text == "done: action_fast"
    assert counted == 1


@pytest.mark.parametrize("name", ["action_crash", None])  # HTTP 500; no server at all (killed)
def test_an_action_that_fails_or_an_action_server_that_is_gone_is_told_not_silent(name):
    server = ActionServer()

    async def scenario():
        if name is None:
            return await call(f"http://127.0.0.1:{free_port()}/webhook", "action_fast", budget=5)
        async with serving(server.app) as base:
            return await call(f"{base}/webhook", name, budget=5)

    before = sample("shopbot_errors_total", component="actions", kind="action_failed")
    events, _, _ = asyncio.run(scenario())
    assert events[0].text == domain_responses()["utter_action_failed"][0]["text"]
    assert [b["payload"] for b in events[0].data["buttons"]] == ["/contact_human_agent"]
    assert events[1] == FollowupAction("action_listen")
    assert sample("shopbot_errors_total", component="actions", kind="action_failed") == before + 1


def test_a_rejection_stays_rasas_so_the_policies_predict_another_action():
    server = ActionServer()

    async def scenario():
        async with serving(server.app) as base:
            return await call(f"{base}/webhook", "action_reject", budget=5)

    with pytest.raises(rasa_action.ActionExecutionRejection):
        asyncio.run(scenario())


def test_an_action_killed_mid_call_is_told():
    """The action server's connection drops while the action runs (the process was killed)."""
    async def scenario():
        async def drop(reader, writer):
            await reader.read(1024)
            writer.transport.abort()  # as a killed process's socket: no answer at all

        listener = await asyncio.start_server(drop, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        try:
            return await call(f"http://127.0.0.1:{port}/webhook", "action_fast", budget=5)
        finally:
            listener.close()

    events, _, seconds = asyncio.run(scenario())
    assert events[0].text == domain_responses()["utter_action_failed"][0]["text"] and seconds < 5


def test_the_budget_is_the_outer_one_and_only_inside_a_turn():
    assert remaining(7.0) == 7.0
    with budgeted(2.0) as deadline:
        with budgeted(60.0) as inner:
            assert inner == deadline and remaining(7.0) <= 2.0
    assert remaining(7.0) == 7.0


def test_install_makes_rasa_build_budgeted_actions(monkeypatch):
    monkeypatch.setattr(rasa_action, "RemoteAction", rasa_action.RemoteAction)
    monkeypatch.setattr(rasa_forms, "RemoteAction", rasa_forms.RemoteAction)
    monkeypatch.setattr(BudgetedRemoteAction, "budget_seconds", BudgetedRemoteAction.budget_seconds)
    turn_budget.install(4.0)
    domain = Domain.from_dict({"actions": ["action_check_order"]})
    built = rasa_action.action_for_name_or_text("action_check_order", domain, EndpointConfig("http://x/webhook"))
    assert isinstance(built, BudgetedRemoteAction) and rasa_forms.RemoteAction is BudgetedRemoteAction
    assert BudgetedRemoteAction.budget_seconds == 4.0


def test_the_lock_outlives_the_budget_and_rasa_is_given_it():
    assert Settings().lock_lifetime_seconds == 2 * 10 + 3 * 15 + 10  # the default budget and database wait
    assert Settings(database_retry_seconds=0).lock_lifetime_seconds == 60  # at least Rasa's default
    long = Settings(turn_budget_seconds=45, orders_timeout=5)
    assert long.lock_lifetime_seconds >= 2 * 45 + 3 * 15 + 10
    assert long.rasa_environment()["TICKET_LOCK_LIFETIME"] == str(long.lock_lifetime_seconds)
    check_lock_lifetime(long.lock_lifetime_seconds, long)
    with pytest.raises(SettingsError, match="lock lifetime"):
        check_lock_lifetime(50, long)  # e.g. TICKET_LOCK_LIFETIME set by hand
    waits = Settings(database_retry_seconds=40)  # a turn may wait that long for the database three times
    assert waits.lock_lifetime_seconds >= 10 + 3 * 40 + 10
    check_lock_lifetime(waits.lock_lifetime_seconds, waits)
    with pytest.raises(SettingsError, match="database"):
        check_lock_lifetime(60, waits)


def test_budget_settings_are_checked():
    assert Settings.from_env({ENV_TURN_BUDGET_SECONDS: "2.5", ENV_ORDERS_TIMEOUT: "2"}).turn_budget_seconds == 2.5
    with pytest.raises(SettingsError, match=ENV_ORDERS_TIMEOUT):
        Settings.from_env({ENV_TURN_BUDGET_SECONDS: "4"})  # the order API's 5 s would not fit
    with pytest.raises(SettingsError, match=ENV_TURN_BUDGET_SECONDS):
        Settings.from_env({ENV_TURN_BUDGET_SECONDS: "0"})


def test_the_notices_button_is_a_request_the_handoff_rules_answer():
    import yaml

    from bot.settings import ROOT

    rules = yaml.safe_load((ROOT / "data" / "rules" / "handoff.yml").read_text())["rules"]
    asks = [r["steps"] for r in rules if r["steps"][0] == {"intent": "contact_human_agent"}]
    assert asks == [[{"intent": "contact_human_agent"}, {"action": "action_request_human"}]]
    for name in (turn_budget.SLOW_NOTICE, turn_budget.FAILED_NOTICE):
        assert [b["payload"] for b in domain_responses()[name][0]["buttons"]] == ["/contact_human_agent"]

