"""Every setting, read from the environment in one place, with defaults.

Nothing else in the project reads `os.environ`; call `get_settings()` (cached) and
pass values on. Child processes (Rasa, the action server) get their configuration
through `Settings.rasa_environment()`, which `endpoints.yml` expands.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
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
ENV_ACTIONS_HOST = "ACTIONS_HOST"
ENV_ACTIONS_URL = "ACTIONS_URL"
ENV_IDENTITY_SECRET = "IDENTITY_SECRET"  # noqa: S105 (a variable name)
ENV_ORDERS_API_URL = "ORDERS_API_URL"
ENV_ORDERS_API_TOKEN = "ORDERS_API_TOKEN"  # noqa: S105 (a variable name)
ENV_ORDERS_TIMEOUT = "ORDERS_TIMEOUT"
ENV_WIDGET_ORIGINS = "WIDGET_ORIGINS"  # comma-separated; unset: the bot's own address (the demo page)
ENV_WIDGET_MAX_MESSAGE_BYTES = "WIDGET_MAX_MESSAGE_BYTES"
ENV_WIDGET_RATE = "WIDGET_RATE"  # messages per 10 seconds per session
ENV_WIDGET_MAX_CONNECTIONS_PER_IP = "WIDGET_MAX_CONNECTIONS_PER_IP"
ENV_CONSOLE_PORT = "CONSOLE_PORT"
ENV_REST_TOKEN = "REST_TOKEN"  # noqa: S105 (a variable name); unset: the REST channel is off
ENV_MAX_REQUEST_BYTES = "MAX_REQUEST_BYTES"  # request body limit of Rasa's server and the console
ENV_ACTIONS_MAX_REQUEST_BYTES = "ACTIONS_MAX_REQUEST_BYTES"  # ... of the action server (Rasa sends whole trackers)
ENV_RASA_API_URL = "RASA_API_URL"  # how the console reaches Rasa's HTTP API; unset: 127.0.0.1:RASA_PORT
ENV_CONSOLE_ADMIN_PASSWORD = "CONSOLE_ADMIN_PASSWORD"  # noqa: S105 (a variable name)
ENV_CONSOLE_SECURE_COOKIES = "CONSOLE_SECURE_COOKIES"  # 1 behind HTTPS (cookies are also Secure on https requests)
ENV_HANDOFF_HOURS = "HANDOFF_HOURS"  # "mon-fri 09:00-18:00; sat 10:00-14:00"; empty: always
ENV_HANDOFF_TIMEZONE = "HANDOFF_TIMEZONE"
ENV_HANDOFF_MAX_WAIT = "HANDOFF_MAX_WAIT"  # seconds in the queue before the visitor is offered a ticket
ENV_FRUSTRATION_OFFER_AT = "FRUSTRATION_OFFER_AT"  # conversation score at which the bot offers a person
ENV_FRUSTRATION_HANDOVER_AT = "FRUSTRATION_HANDOVER_AT"  # ... and at which it hands over at once
ENV_HANDOFF_AUTO_ASSIGN = "HANDOFF_AUTO_ASSIGN"  # 1: give waiting chats to the least-loaded available agent
ENV_TOUCHPOINT_RETENTION_DAYS = "TOUCHPOINT_RETENTION_DAYS"  # 0: keep forever
ENV_DEMO_DATA = "DEMO_DATA"  # 1 (default): fill an empty touchpoint table with demo conversations
ENV_ERASURE_DELAY_SECONDS = "ERASURE_DELAY_SECONDS"
# the mail server that sends agents' answers to tickets; no SMTP_HOST: answers are stored, not sent
ENV_SMTP_HOST = "SMTP_HOST"
ENV_SMTP_PORT = "SMTP_PORT"  # unset: 587 for starttls, 465 for ssl, 25 for none
ENV_SMTP_USER = "SMTP_USER"
ENV_SMTP_PASSWORD = "SMTP_PASSWORD"  # noqa: S105 (a variable name)
ENV_SMTP_FROM = "SMTP_FROM"  # the sender: "help@shop.example" or "Shop help <help@shop.example>"
ENV_SMTP_TLS = "SMTP_TLS"  # starttls | ssl | none
ENV_SMTP_TIMEOUT = "SMTP_TIMEOUT"  # seconds one email may take, connecting included

DEFAULT_HOST = "127.0.0.1"
DEFAULT_RASA_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055
DEFAULT_EMBEDDED_REDIS_PORT = 6390
DEFAULT_VAR_DIR = ROOT / "var"
DEFAULT_ORDERS_TIMEOUT = 5.0
DEFAULT_CONSOLE_PORT = 5006
DEFAULT_HANDOFF_MAX_WAIT = 600
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024  # the largest legitimate body is an agent's reply or a REST message
DEFAULT_ACTIONS_MAX_REQUEST_BYTES = 16 * 1024 * 1024  # a tracker with all its events, and the domain
LOCK_STORE_REDIS_DB = 1
IDENTITY_SECRET_FILE = "identity_secret"  # noqa: S105 (a file name)
SMTP_TLS_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_SMTP_TIMEOUT = 10.0


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


def _number(env: Mapping[str, str], name: str, default, kind=int):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")


def _smtp(env: Mapping[str, str]) -> dict:
    """The SMTP settings, checked: a host needs a sender address, and the TLS mode is one we know."""
    host, sender = (env.get(ENV_SMTP_HOST) or "").strip(), (env.get(ENV_SMTP_FROM) or "").strip()
    tls = (env.get(ENV_SMTP_TLS) or "starttls").strip().lower()
    if tls not in SMTP_TLS_PORTS:
        raise SettingsError(f"{ENV_SMTP_TLS} must be one of {', '.join(SMTP_TLS_PORTS)}, got {tls!r}")
    if host and "@" not in parseaddr(sender)[1]:
        raise SettingsError(f"{ENV_SMTP_FROM} must be the sender's address when {ENV_SMTP_HOST} is set, got {sender!r}")
    return {"smtp_host": host, "smtp_port": _number(env, ENV_SMTP_PORT, 0), "smtp_user": env.get(ENV_SMTP_USER) or "",
            "smtp_password": env.get(ENV_SMTP_PASSWORD) or "", "smtp_from": sender, "smtp_tls": tls,
            "smtp_timeout": _number(env, ENV_SMTP_TIMEOUT, DEFAULT_SMTP_TIMEOUT, float)}


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
    # the action server listens on loopback only; in compose it is a private service
    actions_host: str = DEFAULT_HOST
    actions_url_override: str | None = None
    # HMAC secret shared with the shop page for signed customer identity (bot.identity)
    identity_secret: str = ""
    orders_api_url: str | None = None  # None: the SQL demo shop in the bot's database
    orders_api_token: str = ""
    orders_timeout: float = DEFAULT_ORDERS_TIMEOUT
    widget_origins: tuple = ()  # empty: rasa_url and its localhost twin
    widget_max_message_bytes: int = 4096
    widget_rate: int = 20
    widget_max_connections_per_ip: int = 20
    rest_token: str = ""  # empty: the REST channel refuses every message (bot.channels.rest)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    actions_max_request_bytes: int = DEFAULT_ACTIONS_MAX_REQUEST_BYTES
    console_port: int = DEFAULT_CONSOLE_PORT
    rasa_api_url_override: str | None = None
    console_admin_password: str = ""  # empty: a random one, made once and kept in var/
    console_secure_cookies: bool = False
    handoff_hours: str = ""
    handoff_timezone: str = "UTC"
    handoff_max_wait: int = DEFAULT_HANDOFF_MAX_WAIT
    handoff_auto_assign: bool = False
    frustration_offer_at: float = 0.5
    touchpoint_retention_days: int = 365
    demo_data: bool = True
    frustration_handover_at: float = 0.8
    erasure_delay_seconds: float = 30.0  # a chat's erasure waits this long, so its last turns are stored first
    smtp_host: str = ""  # empty: ticket answers are stored, not sent
    smtp_port: int = 0  # 0: the usual port for smtp_tls
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_tls: str = "starttls"
    smtp_timeout: float = DEFAULT_SMTP_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        redis_url = env.get(ENV_REDIS_URL) or None
        if redis_url:
            RedisTarget.from_url(redis_url)  # fail early on a malformed URL
        database_url = env.get(ENV_DATABASE_URL) or None
        token = env.get(ENV_RASA_TOKEN)
        return cls(
            host=env.get(ENV_HOST) or DEFAULT_HOST,
            rasa_port=_number(env, ENV_RASA_PORT, DEFAULT_RASA_PORT),
            actions_port=_number(env, ENV_ACTIONS_PORT, DEFAULT_ACTIONS_PORT),
            redis_url=redis_url,
            database_url=normalise_database_url(database_url) if database_url else None,
            var_dir=Path(env.get(ENV_VAR_DIR) or DEFAULT_VAR_DIR),
            embedded_redis_port=_number(env, ENV_EMBEDDED_REDIS_PORT, DEFAULT_EMBEDDED_REDIS_PORT),
            actions_host=env.get(ENV_ACTIONS_HOST) or DEFAULT_HOST,
            actions_url_override=env.get(ENV_ACTIONS_URL) or None,
            identity_secret=env.get(ENV_IDENTITY_SECRET) or "",
            orders_api_url=env.get(ENV_ORDERS_API_URL) or None,
            orders_api_token=env.get(ENV_ORDERS_API_TOKEN) or "",
            orders_timeout=_number(env, ENV_ORDERS_TIMEOUT, DEFAULT_ORDERS_TIMEOUT, float),
            widget_origins=tuple(o.strip().rstrip("/") for o in (env.get(ENV_WIDGET_ORIGINS) or "").split(",") if o.strip()),
            widget_max_message_bytes=_number(env, ENV_WIDGET_MAX_MESSAGE_BYTES, 4096),
            widget_rate=_number(env, ENV_WIDGET_RATE, 20),
            widget_max_connections_per_ip=_number(env, ENV_WIDGET_MAX_CONNECTIONS_PER_IP, 20),
            rest_token=env.get(ENV_REST_TOKEN) or "",
            max_request_bytes=_number(env, ENV_MAX_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES),
            actions_max_request_bytes=_number(env, ENV_ACTIONS_MAX_REQUEST_BYTES, DEFAULT_ACTIONS_MAX_REQUEST_BYTES),
            console_port=_number(env, ENV_CONSOLE_PORT, DEFAULT_CONSOLE_PORT),
            rasa_api_url_override=env.get(ENV_RASA_API_URL) or None,
            console_admin_password=env.get(ENV_CONSOLE_ADMIN_PASSWORD) or "",
            console_secure_cookies=_flag(env, ENV_CONSOLE_SECURE_COOKIES),
            handoff_hours=env.get(ENV_HANDOFF_HOURS) or "",
            handoff_timezone=env.get(ENV_HANDOFF_TIMEZONE) or "UTC",
            handoff_max_wait=_number(env, ENV_HANDOFF_MAX_WAIT, DEFAULT_HANDOFF_MAX_WAIT),
            handoff_auto_assign=_flag(env, ENV_HANDOFF_AUTO_ASSIGN),
            frustration_offer_at=_number(env, ENV_FRUSTRATION_OFFER_AT, 0.5, float),
            touchpoint_retention_days=_number(env, ENV_TOUCHPOINT_RETENTION_DAYS, 365),
            demo_data=_flag(env, ENV_DEMO_DATA, default=True),
            frustration_handover_at=_number(env, ENV_FRUSTRATION_HANDOVER_AT, 0.8, float),
            erasure_delay_seconds=_number(env, ENV_ERASURE_DELAY_SECONDS, 30.0, float),
            **_smtp(env),
            **({"rasa_token": token} if token else {}),
        )

    @property
    def sql_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'bot.db').resolve()}"

    @property
    def touchpoints_url(self) -> str:
        """Touchpoints share a PostgreSQL database; with SQLite they get a file of their own, so their batched
        writes never hold the lock the conversations' tracker store waits for."""
        return self.database_url or f"sqlite:///{(self.var_dir / 'touchpoints.db').resolve()}"

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or SMTP_TLS_PORTS[self.smtp_tls]

    @property
    def redis(self) -> RedisTarget:
        if self.redis_url:
            return RedisTarget.from_url(self.redis_url)
        return RedisTarget("127.0.0.1", self.embedded_redis_port)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def rasa_api_url(self) -> str:
        return self.rasa_api_url_override or f"http://127.0.0.1:{self.rasa_port}"

    @property
    def console_url(self) -> str:
        return f"http://{self.host}:{self.console_port}"

    @property
    def actions_url(self) -> str:
        return self.actions_url_override or f"http://127.0.0.1:{self.actions_port}/webhook"

    @property
    def allowed_origins(self) -> list:
        if self.widget_origins:
            return list(self.widget_origins)
        return [self.rasa_url, f"http://localhost:{self.rasa_port}", f"http://127.0.0.1:{self.rasa_port}"]

    def with_identity_secret(self) -> Settings:
        """A secret is needed to check signed identities: unset, one is made once and kept in var/."""
        if self.identity_secret:
            return self
        path = self.var_dir / IDENTITY_SECRET_FILE
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return dataclasses.replace(self, identity_secret=path.read_text().strip())

    def to_env(self) -> dict:
        """These settings as the environment, so child processes compute exactly the same ones."""
        pairs = {
            ENV_HOST: self.host, ENV_RASA_PORT: self.rasa_port, ENV_ACTIONS_PORT: self.actions_port,
            ENV_REDIS_URL: self.redis_url or "", ENV_DATABASE_URL: self.database_url or "",
            ENV_RASA_TOKEN: self.rasa_token, ENV_VAR_DIR: str(self.var_dir),
            ENV_EMBEDDED_REDIS_PORT: self.embedded_redis_port,
            ENV_ACTIONS_HOST: self.actions_host, ENV_ACTIONS_URL: self.actions_url_override or "",
            ENV_IDENTITY_SECRET: self.identity_secret, ENV_ORDERS_API_URL: self.orders_api_url or "",
            ENV_ORDERS_API_TOKEN: self.orders_api_token, ENV_ORDERS_TIMEOUT: self.orders_timeout,
            ENV_WIDGET_ORIGINS: ",".join(self.widget_origins), ENV_WIDGET_MAX_MESSAGE_BYTES: self.widget_max_message_bytes,
            ENV_WIDGET_RATE: self.widget_rate, ENV_WIDGET_MAX_CONNECTIONS_PER_IP: self.widget_max_connections_per_ip,
            ENV_REST_TOKEN: self.rest_token, ENV_MAX_REQUEST_BYTES: self.max_request_bytes,
            ENV_ACTIONS_MAX_REQUEST_BYTES: self.actions_max_request_bytes,
            ENV_CONSOLE_PORT: self.console_port, ENV_RASA_API_URL: self.rasa_api_url_override or "",
            ENV_CONSOLE_ADMIN_PASSWORD: self.console_admin_password,
            ENV_CONSOLE_SECURE_COOKIES: int(self.console_secure_cookies), ENV_HANDOFF_HOURS: self.handoff_hours,
            ENV_HANDOFF_TIMEZONE: self.handoff_timezone, ENV_HANDOFF_MAX_WAIT: self.handoff_max_wait,
            ENV_HANDOFF_AUTO_ASSIGN: int(self.handoff_auto_assign), ENV_FRUSTRATION_OFFER_AT: self.frustration_offer_at,
            ENV_FRUSTRATION_HANDOVER_AT: self.frustration_handover_at,
            ENV_TOUCHPOINT_RETENTION_DAYS: self.touchpoint_retention_days, ENV_DEMO_DATA: int(self.demo_data),
            ENV_ERASURE_DELAY_SECONDS: self.erasure_delay_seconds,
            ENV_SMTP_HOST: self.smtp_host, ENV_SMTP_PORT: self.smtp_port or "", ENV_SMTP_USER: self.smtp_user,
            ENV_SMTP_PASSWORD: self.smtp_password, ENV_SMTP_FROM: self.smtp_from, ENV_SMTP_TLS: self.smtp_tls,
            ENV_SMTP_TIMEOUT: self.smtp_timeout,
        }
        return {k: str(v) for k, v in pairs.items()}

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
    return Settings.from_env(os.environ).with_identity_secret()


def child_environment(settings: Settings, **extra: str) -> dict:
    """The environment for a child process (Rasa, action server): ours plus what endpoints.yml expands."""
    env = dict(os.environ)
    env.update(settings.to_env())
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


ENV_BENCH_DATABASE_URL = "BENCH_DATABASE_URL"


def bench_database_url(env: Mapping[str, str] = os.environ) -> str | None:
    """Where `make bench` puts its million touchpoints (a scratch schema); unset: a temporary SQLite file."""
    url = env.get(ENV_BENCH_DATABASE_URL) or None
    return normalise_database_url(url) if url else None
