"""The REST channel attacked over real HTTP: Rasa's own registration of the channel on a Sanic app, served on
a free port; the app's agent only records what reached it (a real tracker is the integration tests' job)."""
import asyncio
import json
import time
import uuid

import aiohttp
import pytest
import yaml
from rasa.core.channels.channel import register
from sanic import Sanic

from bot.channels.rest import TokenRestInput, valid_sender
from bot.settings import ROOT, Settings
from tests.sanic_server import announce, serving

TOKEN = "rest-token-for-tests"
URL = "/webhooks/rest/webhook"
APP_PREFIX = "rest_channel_test_"


class RecordingAgent:
    """Stands in for Rasa's agent: notes each message that got through and answers it."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_message(self, message):
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "hello")


def rest_app(token):
    app = Sanic(f"{APP_PREFIX}{uuid.uuid4().hex}")  # a fresh app per test
    app.ctx.agent = RecordingAgent()
    register([TokenRestInput(token=token, max_message_bytes=100)], app, "/webhooks/")
    return app


def post_all(token, requests):
    """[(status, body)] of each (headers, body) posted, and the messages that reached the agent."""
    app = rest_app(token)

    async def go():
        async with serving(app) as base, aiohttp.ClientSession() as http:
            out = []
            for headers, body, params in requests:
                data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                async with http.post(base + URL, data=data, headers=headers, params=params) as resp:
                    out.append((resp.status, await resp.json(content_type=None)))
            return out
    return asyncio.run(go()), app.ctx.agent.messages


def bearer(token):
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


HIJACK = {"sender": "a-widget-visitors-session-id", "message": "cancel my order", "input_channel": "widget"}


def test_without_a_configured_token_the_channel_is_off():
    [(status, body)], reached = post_all("", [(bearer(""), HIJACK, None)])
    assert status == 403 and "REST_TOKEN" in body["error"] and reached == []


def test_a_message_without_the_token_is_refused_and_reaches_no_conversation():
    answers, reached = post_all(TOKEN, [
        ({"Content-Type": "application/json"}, HIJACK, None),  # no token at all
        (bearer("guess"), HIJACK, None),
        (bearer(TOKEN + "x"), HIJACK, None),
        ({"Authorization": TOKEN}, HIJACK, None),  # not a bearer token
        (bearer("tökén"), HIJACK, None),  # not ASCII: compared, not a crash
        ({"Content-Type": "application/json"}, HIJACK, {"token": TOKEN}),  # in the URL it would be logged
    ])
    assert [status for status, _ in answers] == [401] * 6 and reached == []
    assert "Authorization: Bearer" in answers[0][1]["error"]


def test_with_the_token_the_message_goes_through_as_the_rest_channel():
    [(status, body)], reached = post_all(TOKEN, [(bearer(TOKEN), {**HIJACK, "metadata": {"x": 1}}, None)])
    assert status == 200 and body == [{"recipient_id": HIJACK["sender"], "text": "hello"}]
    [message] = reached
    assert (message.sender_id, message.text, message.input_channel) == (HIJACK["sender"], "cancel my order", "rest")
    assert message.metadata == {"x": 1}


def test_malformed_or_oversized_messages_get_a_clear_error_and_reach_nobody():
    started = time.monotonic()
    answers, reached = post_all(TOKEN, [
        (bearer(TOKEN), {"sender": "visitor\n2024-01-01 INFO forged", "message": "hi"}, None),
        (bearer(TOKEN), {"sender": "x" * 129, "message": "hi"}, None),
        (bearer(TOKEN), {"sender": "me", "message": "x" * 101}, None),  # over the channel's 100 bytes
        (bearer(TOKEN), {"sender": "me", "message": "é" * 51}, None),  # 102 bytes in UTF-8
        (bearer(TOKEN), {"sender": "me"}, None),
        (bearer(TOKEN), {"sender": "me", "message": "hi", "metadata": "not an object"}, None),
        (bearer(TOKEN), ["sender", "message"], None),
        (bearer(TOKEN), b"{not json", None),
    ])
    assert [status for status, _ in answers] == [400, 400, 413, 413, 400, 400, 400, 400]
    assert all(isinstance(body.get("error"), str) for _, body in answers) and reached == []
    assert time.monotonic() - started < 10


def test_sender_ids_are_printable_single_words():
    assert valid_sender("test-3f2a") and valid_sender("C00017@shop:web+1") and valid_sender("x" * 128)
    for bad in ("", "a b", "a\nb", "a\rb", "a\x00b", "a\u2028b", "\udc80", None, 5, "x" * 129):
        assert not valid_sender(bad), bad


def test_credentials_register_the_token_checking_channel_not_rasas_open_one():
    channels = yaml.safe_load((ROOT / "credentials.yml").read_text())
    assert "rest" not in channels and "bot.channels.rest.TokenRestInput" in channels


def test_the_servers_refuse_an_oversized_body_before_reading_it(monkeypatch):
    """Each child gets its body limit as Sanic reads it (SANIC_REQUEST_MAX_SIZE); a Sanic app made under that
    environment answers 413 to a body announced too large, at once, without waiting for the body."""
    from bot.runner import commands

    settings = Settings(max_request_bytes=65536, actions_max_request_bytes=1 << 24)
    children = commands(settings)
    assert children["rasa"][2]["SANIC_REQUEST_MAX_SIZE"] == "65536"
    assert children["actions"][2]["SANIC_REQUEST_MAX_SIZE"] == str(1 << 24)
    monkeypatch.setenv("SANIC_REQUEST_MAX_SIZE", children["rasa"][2]["SANIC_REQUEST_MAX_SIZE"])
    app = rest_app(TOKEN)
    assert app.config.REQUEST_MAX_SIZE == 65536

    async def probe():
        async with serving(app) as base:
            return await asyncio.to_thread(announce, base, URL, 300 * 1024, bearer(TOKEN))
    status, _, seconds = asyncio.run(probe())
    assert status == 413 and seconds < 1.0 and app.ctx.agent.messages == []


@pytest.fixture(autouse=True)
def _forget_apps():
    yield
    for name in [n for n in Sanic._app_registry if n.startswith(APP_PREFIX)]:
        del Sanic._app_registry[name]
