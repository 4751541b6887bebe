"""The REST channel and the body limits, attacked on the running stack (Rasa, action server, console)."""
import asyncio
import time

import requests

from tests.integration.conftest import REST_TOKEN
from tests.integration.test_widget_channel import Visitor
from tests.sanic_server import announce


def tracker_texts(stack, sender):
    s = stack.settings
    response = requests.get(f"{s.rasa_url}/conversations/{sender}/tracker", params={"token": s.rasa_token}, timeout=30)
    assert response.status_code == 200, response.text
    return [e.get("text") for e in response.json()["events"] if e["event"] == "user"]


def test_a_rest_message_into_a_widget_visitors_conversation_needs_the_token(stack):
    async def visit():
        visitor = await Visitor(stack).connect()
        session_id, _ = await visitor.start()
        await visitor.say("what are your opening hours")
        await visitor.close()
        return session_id
    session_id = asyncio.run(visit())
    url = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
    hijack = {"sender": session_id, "message": "I want to talk to a person", "input_channel": "widget"}
    for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": f"Bearer {stack.settings.rasa_token}"}):
        refused = requests.post(url, json=hijack, headers=headers, timeout=30)
        assert refused.status_code == 401 and "Bearer" in refused.json()["error"]
    assert tracker_texts(stack, session_id) == ["what are your opening hours"]  # nothing reached the tracker
    allowed = requests.post(url, json=hijack, headers={"Authorization": f"Bearer {REST_TOKEN}"}, timeout=30)
    assert allowed.status_code == 200 and tracker_texts(stack, session_id)[-1] == "I want to talk to a person"


def test_a_long_rest_message_is_refused_at_once_without_reaching_the_bot(chat):
    url = f"{chat.stack.settings.rasa_url}/webhooks/rest/webhook"
    started = time.monotonic()
    response = requests.post(url, json={"sender": chat.sender, "message": "where is my order " * 2000},
                             headers={"Authorization": f"Bearer {REST_TOKEN}"}, timeout=30)
    assert response.status_code == 413 and time.monotonic() - started < 1.0
    assert "at most 4096 bytes" in response.json()["error"]
    assert "Torstrasse" in chat.text("what are your opening hours")  # the channel goes on working


def test_every_server_refuses_an_oversized_body_at_once(stack):
    s = stack.settings
    for url, path, length in (
        (s.rasa_url, "/webhooks/rest/webhook", 300 * 1024),  # 3 s of NLU for one visitor, others waiting
        (s.rasa_url, "/socket.io/?EIO=4&transport=polling", 300 * 1024),
        (s.rasa_url, "/conversations/x/tracker/events", 300 * 1024),
        (s.console_url, "/api/login", 300 * 1024),
        (f"http://127.0.0.1:{s.actions_port}", "/webhook", s.actions_max_request_bytes + 1),
    ):
        status, body, seconds = announce(url, path, length, {"Authorization": f"Bearer {REST_TOKEN}"})
        if url.endswith(f":{s.actions_port}"):  # rasa-sdk's catch-all error handler makes every error a 500
            status = 413 if status == 500 and "exceeds the size limit" in body else status
        assert (status, seconds < 1.0) == (413, True), (url, path, status, body, seconds)
    assert requests.get(f"{s.rasa_url}/", timeout=10).ok  # and they go on serving
