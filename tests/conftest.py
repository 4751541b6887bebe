"""Shared fixtures: a real Redis and a real SQL database, and the whole bot stack.

With TEST_REDIS_URL / TEST_DATABASE_URL (set by .ci/run) the tests use those servers;
otherwise an embedded redis-server and a SQLite file, so `make test` runs anywhere.
"""
from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
import requests

from bot.embedded_redis import EmbeddedRedis
from bot.runner import Stack
from bot.settings import Settings, targets_for_tests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    _, url = targets_for_tests()
    if url:
        yield url
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), free_port()) as server:
        yield server.url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url, _ = targets_for_tests()
    return url or f"sqlite:///{tmp_path_factory.mktemp('sql') / 'test.db'}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory, redis_url, database_url):
    """The real thing: action server and Rasa with the trained model, on free ports."""
    settings = Settings(
        rasa_port=free_port(), actions_port=free_port(), redis_url=redis_url,
        database_url=database_url, var_dir=Path(tmp_path_factory.mktemp("var")),
        widget_rate=10, widget_max_connections_per_ip=12,  # low, so the widget tests can reach them
    )
    with Stack(settings) as running:
        yield running


class Chat:
    """A visitor talking to the bot over the REST channel."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sender = f"test-{uuid.uuid4().hex}"
        self.metadata = None

    def say(self, text: str) -> list:
        url = f"{self.stack.settings.rasa_url}/webhooks/rest/webhook"
        body = {"sender": self.sender, "message": text}
        if self.metadata:
            body["metadata"] = self.metadata
        response = requests.post(url, json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def texts(self, text: str) -> list:
        return [m.get("text", "") for m in self.say(text)]

    def text(self, text: str) -> str:
        return "\n".join(self.texts(text))

    def tracker(self) -> dict:
        s = self.stack.settings
        url = f"{s.rasa_url}/conversations/{self.sender}/tracker"
        response = requests.get(url, params={"token": s.rasa_token}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def chat(stack):
    return Chat(stack)


def parse(stack: Stack, text: str) -> dict:
    s = stack.settings
    response = requests.post(f"{s.rasa_url}/model/parse", params={"token": s.rasa_token}, json={"text": text}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()
