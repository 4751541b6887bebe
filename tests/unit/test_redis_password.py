"""The embedded Redis holds console sessions, the handoff queue and socket.io messages (which python-socketio
unpickles): it asks for a password, generated once and kept like the other secrets, and every client sends it."""
import stat

import pytest
import redis

from bot.runner import start_embedded_redis
from bot.settings import RedisTarget, Settings
from tests.conftest import free_port


@pytest.fixture
def embedded(tmp_path):
    settings = Settings(var_dir=tmp_path / "var", embedded_redis_port=free_port()).with_secrets()
    server = start_embedded_redis(settings)
    yield settings, server
    server.stop()


def test_a_client_without_the_password_is_refused(embedded):
    settings, _ = embedded
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=settings.embedded_redis_port, socket_timeout=2).set("console:session:x", "{}")
    assert redis.Redis.from_url(settings.redis.url(), socket_timeout=2).ping()


def test_the_password_is_made_once_kept_private_and_off_the_command_line(embedded, tmp_path):
    settings, server = embedded
    password = settings.redis.password
    assert len(password) >= 32
    kept = tmp_path / "var" / "redis_password"
    assert kept.read_text().strip() == password and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert Settings(var_dir=tmp_path / "var").with_secrets().redis.password == password  # the next start, children
    with open(f"/proc/{server.process.pid}/cmdline", "rb") as cmdline:
        assert password.encode() not in cmdline.read()


def test_every_client_is_given_the_password(embedded):
    settings, _ = embedded
    password = settings.redis.password
    assert settings.rasa_environment()["LOCK_STORE_PASSWORD"] == password  # Rasa's lock store (endpoints.yml)
    # the socket.io manager, the handoff queue and console sessions all connect with this URL
    assert RedisTarget.from_url(settings.redis.url()).password == password
    assert Settings.from_env(settings.to_env()).redis.password == password  # what the child processes compute


def test_your_own_redis_password_may_hold_any_character():
    target = RedisTarget.from_url("redis://:p%40ss%2Fw%3Ard@cache:6380/2")
    assert target.password == "p@ss/w:rd"
    assert RedisTarget.from_url(target.url(db=1)) == RedisTarget("cache", 6380, 1, "p@ss/w:rd")
    assert "p@ss" not in target.shown() and "cache:6380" in target.shown()
