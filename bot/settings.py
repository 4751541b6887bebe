"""Every setting, read from the environment in one place, with defaults.

Nothing else in the project reads `os.environ`; call `get_settings()` (cached) and
pass values on. Child processes (Rasa, the action server) get their configuration
through `Settings.rasa_environment()`, which `endpoints.yml` expands.
"""
from __future__ import annotations

import functools
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent

ENV_HOST = "BOT_HOST"
ENV_RASA_PORT = "RASA_PORT"
ENV_ACTIONS_PORT = "ACTIONS_PORT"
ENV_REDIS_URL = "REDIS_URL"
ENV_DATABASE_URL = "DATABASE_URL"
ENV_RASA_TOKEN = "RASA_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_VAR_DIR = "BOT_VAR_DIR"
ENV_EMBEDDED_REDIS_PORT = "EMBEDDED_REDIS_PORT"
ENV_ACTION_TIMEOUT = "ACTION_TIMEOUT"
ENV_ACTIONS_HOST = "ACTIONS_HOST"
ENV_ACTIONS_URL = "ACTIONS_URL"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_RASA_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055
DEFAULT_EMBEDDED_REDIS_PORT = 6390
DEFAULT_VAR_DIR = ROOT / "var"
DEFAULT_ACTION_TIMEOUT = 10.0
LOCK_STORE_REDIS_DB = 1


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message says which and why."""


@dataclass(frozen=True)
class RedisTarget:
    host: str
    port: int
    db: int = 0
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> RedisTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise SettingsError(f"{ENV_REDIS_URL} must look like redis://host:port/db, got {url!r}")
        db = parts.path.strip("/") or "0"
        if not db.isdigit():
            raise SettingsError(f"{ENV_REDIS_URL} database must be a number, got {db!r}")
        return cls(parts.hostname, parts.port or 6379, int(db), unquote(parts.password or ""))

    def url(self, db: int | None = None) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db if db is None else db}"


def normalise_database_url(url: str) -> str:
    """SQLAlchemy 1.4 wants `postgresql://`; many hosts hand out `postgres://`."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    if "://" not in url:
        raise SettingsError(f"{ENV_DATABASE_URL} must be a URL such as sqlite:///path or postgresql://..., got {url!r}")
    return url


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    rasa_port: int = DEFAULT_RASA_PORT
    actions_port: int = DEFAULT_ACTIONS_PORT
    redis_url: str | None = None  # None: run an embedded Redis
    database_url: str | None = None  # None: a SQLite file in var_dir
    rasa_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    var_dir: Path = DEFAULT_VAR_DIR
    embedded_redis_port: int = DEFAULT_EMBEDDED_REDIS_PORT
    action_timeout: float = DEFAULT_ACTION_TIMEOUT
    # the action server listens on loopback only; in compose it is a private service
    actions_host: str = DEFAULT_HOST
    actions_url_override: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        redis_url = env.get(ENV_REDIS_URL) or None
        if redis_url:
            RedisTarget.from_url(redis_url)  # fail early on a malformed URL
        database_url = env.get(ENV_DATABASE_URL) or None
        token = env.get(ENV_RASA_TOKEN)
        return cls(
            host=env.get(ENV_HOST) or DEFAULT_HOST,
            rasa_port=_int(env, ENV_RASA_PORT, DEFAULT_RASA_PORT),
            actions_port=_int(env, ENV_ACTIONS_PORT, DEFAULT_ACTIONS_PORT),
            redis_url=redis_url,
            database_url=normalise_database_url(database_url) if database_url else None,
            var_dir=Path(env.get(ENV_VAR_DIR) or DEFAULT_VAR_DIR),
            embedded_redis_port=_int(env, ENV_EMBEDDED_REDIS_PORT, DEFAULT_EMBEDDED_REDIS_PORT),
            action_timeout=_float(env, ENV_ACTION_TIMEOUT, DEFAULT_ACTION_TIMEOUT),
            actions_host=env.get(ENV_ACTIONS_HOST) or DEFAULT_HOST,
            actions_url_override=env.get(ENV_ACTIONS_URL) or None,
            **({"rasa_token": token} if token else {}),
        )

    @property
    def sql_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'bot.db').resolve()}"

    @property
    def redis(self) -> RedisTarget:
        if self.redis_url:
            return RedisTarget.from_url(self.redis_url)
        return RedisTarget("127.0.0.1", self.embedded_redis_port)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return self.actions_url_override or f"http://127.0.0.1:{self.actions_port}/webhook"

    def rasa_environment(self) -> dict:
        """Variables that endpoints.yml expands (see that file)."""
        redis = self.redis
        return {
            "ACTION_ENDPOINT_URL": self.actions_url,
            "TRACKER_STORE_URL": self.sql_url,
            "LOCK_STORE_HOST": redis.host,
            "LOCK_STORE_PORT": str(redis.port),
            "LOCK_STORE_PASSWORD": redis.password,
            "LOCK_STORE_DB": str(LOCK_STORE_REDIS_DB),
        }


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env(os.environ)


def child_environment(settings: Settings, **extra: str) -> dict:
    """The environment for a child process (Rasa, action server): ours plus what endpoints.yml expands."""
    env = dict(os.environ)
    env.update(settings.rasa_environment())
    env.update({
        "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's start-up chatter hides real errors
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


# The test suite's targets: a real PostgreSQL / Redis when CI sets these, else SQLite and an embedded Redis.
ENV_TEST_DATABASE_URL = "TEST_DATABASE_URL"
ENV_TEST_REDIS_URL = "TEST_REDIS_URL"


def targets_for_tests(env: Mapping[str, str] = os.environ) -> tuple:
    """(database_url or None, redis_url or None) for the tests."""
    db = env.get(ENV_TEST_DATABASE_URL) or None
    return (normalise_database_url(db) if db else None, env.get(ENV_TEST_REDIS_URL) or None)
