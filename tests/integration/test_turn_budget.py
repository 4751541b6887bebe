"""The turn budget against the whole stack (bot.turn_budget): Rasa calls the real action server through a small
HTTP relay in the test that can hold one action past the budget, or find the action server killed mid-call.

One Stack for the module, with a 2 s budget (the session's shared stack keeps the default)."""
import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from bot.responses import response_text
from bot.runner import Stack
from bot.settings import Settings
from tests import widget_client
from tests.conftest import ADMIN_PASSWORD, free_port
from tests.integration.conftest import REST_TOKEN, Chat

BUDGET = 2.0
SLOW_ACTION = "action_answer_shipping"  # data/rules/answers.yml: delivery questions
QUESTION = "do you deliver to parcel lockers"


class Relay:
    """Between Rasa and the action server: holds `hold` seconds before forwarding a call to an action in
    `slow`; notes the answers to held calls (`late`: name, when); drops the connection when the action server is gone."""

    def __init__(self, upstream: str) -> None:
        self.upstream, self.slow, self.hold, self.late = upstream, set(), 0.0, []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                name = json.loads(body).get("next_action")
                held = name in relay.slow
                if held:
                    time.sleep(relay.hold)
                try:
                    answer = requests.post(relay.upstream, data=body, timeout=30,
                                           headers={"Content-Type": "application/json"})
                except requests.ConnectionError:  # as the killed server's socket: no answer at all
                    self.close_connection = True
                    return
                if held:
                    relay.late.append((name, time.monotonic()))
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def relayed(tmp_path_factory, redis_url, database_url):
    actions_port = free_port()
    relay = Relay(f"http://127.0.0.1:{actions_port}/webhook")
    settings = Settings(
        rasa_port=free_port(), actions_port=actions_port, console_port=free_port(), redis_url=redis_url,
        database_url=database_url, var_dir=Path(tmp_path_factory.mktemp("var")), demo_data=False,
        console_admin_password=ADMIN_PASSWORD, rest_token=REST_TOKEN, demo_mode=True,
        turn_budget_seconds=BUDGET, orders_timeout=1.0, actions_url_override=relay.url,
    )
    try:
        with Stack(settings) as running:
            yield running, relay
    finally:
        relay.close()


def tracker(stack):
    def events(sender):
        s = stack.settings
        answer = requests.get(f"{s.rasa_url}/conversations/{sender}/tracker", params={"token": s.rasa_token}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]
    return events


def texts(answers):
    return [a.get("text") for a in answers]


def test_a_slow_action_is_told_within_the_budget_and_the_next_message_is_answered(relayed):
    stack, relay = relayed
    relay.slow, relay.hold, relay.late = {SLOW_ACTION}, BUDGET + 6, []  # still running when the next message comes

    async def scenario():
        visitor = await widget_client.Visitor(stack.settings).connect()
        await visitor.start()
        started = time.monotonic()
        slow = await visitor.say(QUESTION)
        told = time.monotonic() - started
        relay.slow = set()
        again = await visitor.say(QUESTION)  # while the slow call is still held at the action server
        answered_again = time.monotonic() - started
        offered = await visitor.say("/contact_human_agent")  # the notice's button
        mark = len(visitor.events)
        while not relay.late and time.monotonic() - started < BUDGET + 12:
            await asyncio.sleep(0.2)  # the held call's answer is back at the relay (Rasa had stopped listening)
        assert relay.late, "the held call never came back"
        settled = await visitor.settled(stack.settings.redis.url())
        late = [data for name, data in visitor.events[mark:settled] if name == "bot_uttered"]
        await visitor.close()
        return visitor.session_id, slow, told, again, answered_again, offered, late

    sender, slow, told, again, answered_again, offered, late = asyncio.run(scenario())
    assert texts(slow) == [response_text("utter_turn_slow")] and told < BUDGET + 1.5
    assert [b["payload"] for b in slow[0]["quick_replies"]] == ["/contact_human_agent"]
    assert again and response_text("utter_turn_slow") not in texts(again)
    assert answered_again < BUDGET + 6  # not held behind the slow call: its lock was released
    assert offered and response_text("utter_turn_slow") not in texts(offered) and late == []
    events = tracker(stack)(sender)
    said = [e["text"] for e in events if e["event"] == "user"]
    assert said[-3:] == [QUESTION, QUESTION, "/contact_human_agent"]  # nothing lost
    ran = [e["name"] for e in events if e["event"] == "action"]
    assert ran.count(SLOW_ACTION) == 2 and "action_request_human" in ran
    assert "cut off after" in (stack.log_dir / "rasa.log").read_text()  # logged (and counted: unit tests)


def test_the_rest_channel_gets_the_same_notice(relayed):
    stack, relay = relayed
    relay.slow, relay.hold = {SLOW_ACTION}, BUDGET + 1
    chat = Chat(stack)
    started = time.monotonic()
    try:
        assert chat.texts(QUESTION) == [response_text("utter_turn_slow")]
    finally:
        relay.slow = set()
    assert time.monotonic() - started < BUDGET + 1.5
    assert response_text("utter_turn_slow") not in chat.texts(QUESTION)


def test_the_action_server_killed_mid_turn_is_told_and_the_next_turn_works_once_it_is_back(relayed):
    stack, relay = relayed
    actions = next(c for c in stack.children if c.name == "action server")
    relay.slow, relay.hold = {SLOW_ACTION}, 1.0
    chat = Chat(stack)
    chat.texts("hello")  # the session started (a custom action) before the kill
    killer = threading.Timer(0.3, actions.started.kill)  # while the call is held at the relay
    killer.start()
    try:
        told = chat.texts(QUESTION)
    finally:
        killer.join()
        relay.slow = set()
    assert told == [response_text("utter_action_failed")]
    actions.started.wait(10)
    assert stack.revive() == ["action server"]
    actions.wait_healthy(time.monotonic() + 60)
    answer = chat.texts(QUESTION)
    assert answer and response_text("utter_action_failed") not in answer
    said = [e["text"] for e in tracker(stack)(chat.sender) if e["event"] == "user"]
    assert said == ["hello", QUESTION, QUESTION]
