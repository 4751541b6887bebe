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
from typing import List, Mapping
from urllib.parse import quote, unquote, urlsplit

from bot.private_files import kept_secret

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
ENV_WIDGET_ADDRESS_RATE = "WIDGET_ADDRESS_RATE"  # messages per 10 seconds per client address, all its sessions
ENV_WIDGET_SESSION_RATE = "WIDGET_SESSION_RATE"  # session requests (new or resumed) per minute per client address
# failed order lookups (number and email that do not match) within ORDER_LOOKUP_WINDOW_SECONDS, counted in Redis
ENV_ORDER_LOOKUP_MAX_FAILURES = "ORDER_LOOKUP_MAX_FAILURES"  # per conversation
ENV_ORDER_LOOKUP_MAX_FAILURES_PER_ADDRESS = "ORDER_LOOKUP_MAX_FAILURES_PER_ADDRESS"  # per client address
ENV_ORDER_LOOKUP_MAX_FAILURES_PER_EMAIL_OR_ORDER = "ORDER_LOOKUP_MAX_FAILURES_PER_EMAIL_OR_ORDER"  # per email, per number
ENV_ORDER_LOOKUP_WINDOW_SECONDS = "ORDER_LOOKUP_WINDOW_SECONDS"
ENV_CONSOLE_PORT = "CONSOLE_PORT"
ENV_REST_TOKEN = "REST_TOKEN"  # noqa: S105 (a variable name); unset: the REST channel is off
ENV_MAX_REQUEST_BYTES = "MAX_REQUEST_BYTES"  # request body limit of Rasa's server and the console
ENV_ACTIONS_MAX_REQUEST_BYTES = "ACTIONS_MAX_REQUEST_BYTES"  # ... of the action server (Rasa sends whole trackers)
ENV_RASA_API_URL = "RASA_API_URL"  # how the console reaches Rasa's HTTP API; unset: 127.0.0.1:RASA_PORT
ENV_CONSOLE_ADMIN_PASSWORD = "CONSOLE_ADMIN_PASSWORD"  # noqa: S105 (a variable name)
ENV_CONSOLE_SECURE_COOKIES = "CONSOLE_SECURE_COOKIES"  # 1 behind HTTPS (cookies are also Secure on https requests)
ENV_CONSOLE_LOGIN_TRIES = "CONSOLE_LOGIN_TRIES"  # failed sign-ins per username in 15 minutes before 429
ENV_CONSOLE_LOGIN_TRIES_PER_ADDRESS = "CONSOLE_LOGIN_TRIES_PER_ADDRESS"  # ... per client address (any usernames)
ENV_CONSOLE_MAX_TEXT = "CONSOLE_MAX_TEXT"  # characters in an agent's note or ticket answer (at most MAX_STORED_TEXT)
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
# 1: the demo page signs in any customer it is asked for (to requests made on this machine only); see run_settings
ENV_DEMO_MODE = "DEMO_MODE"
# which forwarded client addresses to trust, as Sanic names them (bot.proxies); unset: none, the peer counts
ENV_PROXIES_COUNT = "PROXIES_COUNT"  # proxies in front that append to X-Forwarded-For (nginx: 1)
ENV_REAL_IP_HEADER = "REAL_IP_HEADER"  # a header the proxy sets to the client's address, e.g. X-Real-IP
ENV_FORWARDED_SECRET = "FORWARDED_SECRET"  # noqa: S105 (a variable name) the secret in the proxy's Forwarded header
ENV_EMBEDDED_REDIS_PASSWORD = "EMBEDDED_REDIS_PASSWORD"  # noqa: S105 (a variable name) unset: made once, kept in var/

DEFAULT_HOST = "127.0.0.1"
DEFAULT_RASA_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055
DEFAULT_EMBEDDED_REDIS_PORT = 6390
DEFAULT_VAR_DIR = ROOT / "var"
DEFAULT_ORDERS_TIMEOUT = 5.0
DEFAULT_CONSOLE_PORT = 5006
DEFAULT_HANDOFF_MAX_WAIT = 600
DEFAULT_ORDER_LOOKUP_WINDOW_SECONDS = 24 * 3600
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024  # the largest legitimate body is an agent's reply or a REST message
DEFAULT_ACTIONS_MAX_REQUEST_BYTES = 16 * 1024 * 1024  # a tracker with all its events, and the domain
LOCK_STORE_REDIS_DB = 1
IDENTITY_SECRET_FILE = "identity_secret"  # noqa: S105 (a file name)
REDIS_PASSWORD_FILE = "redis_password"  # noqa: S105 (a file name) the embedded Redis's
RASA_TOKEN_FILE = "rasa_token"  # noqa: S105 (a file name) this run's, written by `python -m bot run`
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The secrets each server reads. Run alone (`python -m bot actions|rasa|console`, one container per server) it
# must be given each of them, the same as every other server: one it made up would match no other's.
SERVER_SECRETS = {
    "actions": (ENV_IDENTITY_SECRET,),
    "rasa": (ENV_IDENTITY_SECRET, ENV_RASA_TOKEN),
    "console": (ENV_IDENTITY_SECRET, ENV_RASA_TOKEN, ENV_CONSOLE_ADMIN_PASSWORD),
}
SMTP_TLS_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_SMTP_TIMEOUT = 10.0
MAX_STORED_TEXT = 4000  # characters of a note, ticket or answer the handoff records keep


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
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db if db is None else db}"

    def shown(self) -> str:
        """The URL for messages: the password, if any, left out."""
        return self.url().replace(f":{quote(self.password, safe='')}@", ":***@") if self.password else self.url()


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


def _bounded(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _number(env, name, default)
    if not low <= value <= high:
        raise SettingsError(f"{name} must be {low}-{high}, got {value}")
    return value


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
    widget_address_rate: int = 60
    widget_session_rate: int = 30
    order_lookup_max_failures: int = 5
    order_lookup_max_failures_per_address: int = 10
    order_lookup_max_failures_per_email_or_order: int = 5
    order_lookup_window_seconds: int = DEFAULT_ORDER_LOOKUP_WINDOW_SECONDS
    rest_token: str = ""  # empty: the REST channel refuses every message (bot.channels.rest)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    actions_max_request_bytes: int = DEFAULT_ACTIONS_MAX_REQUEST_BYTES
    console_port: int = DEFAULT_CONSOLE_PORT
    rasa_api_url_override: str | None = None
    console_admin_password: str = ""  # empty: a random one, made once and kept in var/
    console_secure_cookies: bool = False
    console_login_tries: int = 10
    console_login_tries_per_address: int = 30
    console_max_text: int = MAX_STORED_TEXT
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
    demo_mode: bool = False  # the demo page signs in whom it is asked for (requests from this machine only)
    proxies_count: int = 0  # the forwarded addresses to trust (bot.proxies); 0, "": none
    real_ip_header: str = ""
    forwarded_secret: str = ""
    embedded_redis_password: str = ""  # empty: made once, kept in var/ (see with_secrets)

    @classmethod
    def from_env(cls, env: Mapping[str, str], demo_default: bool = False) -> Settings:
        """`demo_default`: demo mode when DEMO_MODE is unset and the bot serves this machine and the demo shop."""
        redis_url = env.get(ENV_REDIS_URL) or None
        if redis_url:
            RedisTarget.from_url(redis_url)  # fail early on a malformed URL
        database_url = env.get(ENV_DATABASE_URL) or None
        token = env.get(ENV_RASA_TOKEN)
        host = env.get(ENV_HOST) or DEFAULT_HOST
        demo_default = demo_default and host in LOOPBACK_HOSTS and not env.get(ENV_ORDERS_API_URL)
        return cls(
            host=host,
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
            widget_address_rate=_number(env, ENV_WIDGET_ADDRESS_RATE, 60),
            widget_session_rate=_number(env, ENV_WIDGET_SESSION_RATE, 30),
            order_lookup_max_failures=_number(env, ENV_ORDER_LOOKUP_MAX_FAILURES, 5),
            order_lookup_max_failures_per_address=_number(env, ENV_ORDER_LOOKUP_MAX_FAILURES_PER_ADDRESS, 10),
            order_lookup_max_failures_per_email_or_order=_number(env, ENV_ORDER_LOOKUP_MAX_FAILURES_PER_EMAIL_OR_ORDER, 5),
            order_lookup_window_seconds=_number(env, ENV_ORDER_LOOKUP_WINDOW_SECONDS, DEFAULT_ORDER_LOOKUP_WINDOW_SECONDS),
            rest_token=env.get(ENV_REST_TOKEN) or "",
            max_request_bytes=_number(env, ENV_MAX_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES),
            actions_max_request_bytes=_number(env, ENV_ACTIONS_MAX_REQUEST_BYTES, DEFAULT_ACTIONS_MAX_REQUEST_BYTES),
            console_port=_number(env, ENV_CONSOLE_PORT, DEFAULT_CONSOLE_PORT),
            rasa_api_url_override=env.get(ENV_RASA_API_URL) or None,
            console_admin_password=env.get(ENV_CONSOLE_ADMIN_PASSWORD) or "",
            console_secure_cookies=_flag(env, ENV_CONSOLE_SECURE_COOKIES),
            console_login_tries=_bounded(env, ENV_CONSOLE_LOGIN_TRIES, 10, 1, 1000),
            console_login_tries_per_address=_bounded(env, ENV_CONSOLE_LOGIN_TRIES_PER_ADDRESS, 30, 1, 100000),
            console_max_text=_bounded(env, ENV_CONSOLE_MAX_TEXT, MAX_STORED_TEXT, 1, MAX_STORED_TEXT),
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
            demo_mode=_flag(env, ENV_DEMO_MODE, default=demo_default),
            **_proxies(env),
            embedded_redis_password=env.get(ENV_EMBEDDED_REDIS_PASSWORD) or "",
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
        return RedisTarget("127.0.0.1", self.embedded_redis_port, password=self.embedded_redis_password)

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

    def with_secrets(self) -> Settings:
        """The secrets that may be left unset, made once and kept in var/ (0600): the identity secret (needed to
        check signed identities) and, with no REDIS_URL, the embedded Redis's password."""
        made = {}
        if not self.identity_secret:
            made["identity_secret"] = kept_secret(self.var_dir / IDENTITY_SECRET_FILE)
        if not self.redis_url and not self.embedded_redis_password:
            made["embedded_redis_password"] = kept_secret(self.var_dir / REDIS_PASSWORD_FILE)
        return dataclasses.replace(self, **made) if made else self

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
            ENV_WIDGET_ADDRESS_RATE: self.widget_address_rate, ENV_WIDGET_SESSION_RATE: self.widget_session_rate,
            ENV_ORDER_LOOKUP_MAX_FAILURES: self.order_lookup_max_failures,
            ENV_ORDER_LOOKUP_MAX_FAILURES_PER_ADDRESS: self.order_lookup_max_failures_per_address,
            ENV_ORDER_LOOKUP_MAX_FAILURES_PER_EMAIL_OR_ORDER: self.order_lookup_max_failures_per_email_or_order,
            ENV_ORDER_LOOKUP_WINDOW_SECONDS: self.order_lookup_window_seconds,
            ENV_REST_TOKEN: self.rest_token, ENV_MAX_REQUEST_BYTES: self.max_request_bytes,
            ENV_ACTIONS_MAX_REQUEST_BYTES: self.actions_max_request_bytes,
            ENV_CONSOLE_PORT: self.console_port, ENV_RASA_API_URL: self.rasa_api_url_override or "",
            ENV_CONSOLE_ADMIN_PASSWORD: self.console_admin_password,
            ENV_CONSOLE_SECURE_COOKIES: int(self.console_secure_cookies), ENV_HANDOFF_HOURS: self.handoff_hours,
            ENV_CONSOLE_LOGIN_TRIES: self.console_login_tries,
            ENV_CONSOLE_LOGIN_TRIES_PER_ADDRESS: self.console_login_tries_per_address,
            ENV_CONSOLE_MAX_TEXT: self.console_max_text,
            ENV_HANDOFF_TIMEZONE: self.handoff_timezone, ENV_HANDOFF_MAX_WAIT: self.handoff_max_wait,
            ENV_HANDOFF_AUTO_ASSIGN: int(self.handoff_auto_assign), ENV_FRUSTRATION_OFFER_AT: self.frustration_offer_at,
            ENV_FRUSTRATION_HANDOVER_AT: self.frustration_handover_at,
            ENV_TOUCHPOINT_RETENTION_DAYS: self.touchpoint_retention_days, ENV_DEMO_DATA: int(self.demo_data),
            ENV_ERASURE_DELAY_SECONDS: self.erasure_delay_seconds,
            ENV_SMTP_HOST: self.smtp_host, ENV_SMTP_PORT: self.smtp_port or "", ENV_SMTP_USER: self.smtp_user,
            ENV_SMTP_PASSWORD: self.smtp_password, ENV_SMTP_FROM: self.smtp_from, ENV_SMTP_TLS: self.smtp_tls,
            ENV_SMTP_TIMEOUT: self.smtp_timeout, ENV_DEMO_MODE: int(self.demo_mode),
            ENV_PROXIES_COUNT: self.proxies_count or "", ENV_REAL_IP_HEADER: self.real_ip_header,
            ENV_FORWARDED_SECRET: self.forwarded_secret, ENV_EMBEDDED_REDIS_PASSWORD: self.embedded_redis_password,
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


def _proxies(env: Mapping[str, str]) -> dict:
    count = _number(env, ENV_PROXIES_COUNT, 0)
    if count < 0:
        raise SettingsError(f"{ENV_PROXIES_COUNT} must be the number of proxies in front of the bot (0 or more), got {count}")
    return {"proxies_count": count, "real_ip_header": (env.get(ENV_REAL_IP_HEADER) or "").strip(),
            "forwarded_secret": env.get(ENV_FORWARDED_SECRET) or ""}


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env(os.environ).with_secrets()


def run_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """`python -m bot run` (`make run`): the whole bot on one machine. Unless DEMO_MODE says otherwise, the demo
    page signs in demo customers there, while the bot listens on loopback and serves the demo shop."""
    return Settings.from_env(env, demo_default=True).with_secrets()


def missing_secrets(server: str, env: Mapping[str, str] = os.environ) -> List[str]:
    """The secrets `server` reads (SERVER_SECRETS) that `env` does not set."""
    return [name for name in SERVER_SECRETS.get(server, ()) if not env.get(name)]


def where_secret(name: str, kept_in: Path, env: Mapping[str, str] = os.environ) -> str:
    """Where a secret comes from, for messages that must not show it: its variable, or the file it is kept in."""
    return name if env.get(name) else str(kept_in)


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
