"""The whole bot stack for the integration and browser tests: action server, Rasa with the trained model and the
console on free ports, and the clients that talk to it (a visitor's Chat, an agent's Console).

tests/e2e/conftest.py imports these fixtures too; tests/unit never does (tests/unit/test_tiers.py checks).
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests

from bot.runner import Stack
from bot.settings import Settings
from tests.conftest import ADMIN_PASSWORD, free_port

REST_TOKEN = "rest-token-for-tests"  # noqa: S105 (a test fixture): the REST channel is off without one

# tests/e2e/conftest.py registers `stack` again (pytest keeps one per conftest): both share the one running here
RUNNING_STACK = pytest.StashKey[Stack]()


@pytest.fixture(scope="session")
def stack(request, tmp_path_factory, redis_url, database_url):
    """The real thing: action server and Rasa with the trained model, on free ports; one per test session."""
    if RUNNING_STACK in request.config.stash:
        yield request.config.stash[RUNNING_STACK]
        return
    settings = Settings(
        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), redis_url=redis_url,
        console_admin_password=ADMIN_PASSWORD, rest_token=REST_TOKEN, handoff_max_wait=3600, demo_data=False,
        database_url=database_url, var_dir=Path(tmp_path_factory.mktemp("var")),
        widget_rate=10, widget_max_connections_per_ip=12,  # low, so the widget tests can reach them
        # every test visitor comes from loopback: the per-address limits are the unit tests' (tests/unit)
        widget_address_rate=100_000, widget_session_rate=100_000,
        order_lookup_max_failures_per_address=100_000, order_lookup_max_failures_per_email_or_order=100_000,
        erasure_delay_seconds=1.0,
        demo_mode=True, proxies_count=1,  # as `make run`; behind a proxy (nginx), which only the tests play
    )
    with Stack(settings) as running:
        request.config.stash[RUNNING_STACK] = running
        yield running
        del request.config.stash[RUNNING_STACK]


@pytest.fixture(scope="module")
def shop(stack):
    """The demo shop's orders in the stack's database, for tests that arrange orders."""
    from bot.orders.sql import SqlOrders

    orders = SqlOrders(stack.settings.sql_url)
    yield orders
    orders.close()


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
        response = requests.post(url, json=body, headers={"Authorization": f"Bearer {REST_TOKEN}"}, timeout=30)
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


class Console:
    """An agent (or admin) using the console's JSON API, with its session cookie and CSRF token."""

    def __init__(self, stack: Stack, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
        self.base = stack.settings.console_url
        self.http = requests.Session()
        self.username = username
        response = self.http.post(f"{self.base}/api/login", json={"username": username, "password": password}, timeout=30)
        assert response.status_code == 200, response.text
        self.csrf = response.json()["csrf"]

    def call(self, method: str, path: str, body=None, expect: int = 200):
        response = self.http.request(method, f"{self.base}{path}", json=body, headers={"X-CSRF-Token": self.csrf}, timeout=30)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def available(self, status: str = "available"):
        return self.call("POST", "/api/presence", {"status": status})


def make_agent(stack: Stack, username: str, **extra) -> Console:
    """A new agent account (made by the admin) signed in and available."""
    admin = Console(stack)
    password = f"{username}-password-123"
    created = admin.http.post(f"{admin.base}/api/users", headers={"X-CSRF-Token": admin.csrf}, timeout=30,
                              json={"username": username, "password": password, "name": username.title(), **extra})
    assert created.status_code in (201, 400), created.text  # 400: made by an earlier test
    agent = Console(stack, username, password)
    agent.available()
    return agent


def set_everyone_offline(stack: Stack) -> None:
    """Agent presence outlives a test by its TTL; tests that depend on who is on shift start from nobody."""
    import asyncio

    from bot.handoff.presence import wanted_key
    from bot.handoff.queue import HandoffQueue, presence_key

    async def clear():
        queue = HandoffQueue.from_url(stack.settings.redis.url())
        try:
            for agent in await queue.agents():
                await queue.redis.delete(presence_key(agent.id), wanted_key(agent.id))
        finally:
            await queue.close()
    asyncio.run(clear())


@pytest.fixture
def nobody_on_shift(stack):
    set_everyone_offline(stack)
    yield
    set_everyone_offline(stack)
