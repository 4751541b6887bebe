"""Shared by every tier: a real Redis and a real SQL database, free ports, and the tier markers.

With TEST_REDIS_URL / TEST_DATABASE_URL (set by .ci/run) the tests use those servers;
otherwise an embedded redis-server and a SQLite file, so `make test` runs anywhere.
The whole bot stack (Rasa, actions, console) is tests/integration/conftest.py's, so unit tests never load it.
"""
from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from bot.embedded_redis import EmbeddedRedis
from bot.settings import targets_for_tests

ADMIN_PASSWORD = "admin-password-for-tests"  # noqa: S105 (a test fixture)

TESTS = Path(__file__).parent
TIERS = ("integration", "e2e")  # folders under tests/ whose tests get the marker of the same name (pyproject.toml)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by its folder, so `pytest -m "not e2e"` or `-m integration` picks a tier."""
    for item in items:
        if item.path.is_relative_to(TESTS):
            tier = item.path.relative_to(TESTS).parts[0]
            if tier in TIERS:
                item.add_marker(getattr(pytest.mark, tier))


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
    # with a password, as the embedded Redis of `make run` has: every client must send it
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), free_port(), password=uuid.uuid4().hex) as server:
        yield server.url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url, _ = targets_for_tests()
    return url or f"sqlite:///{tmp_path_factory.mktemp('sql') / 'test.db'}"
