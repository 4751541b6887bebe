"""Every setting, read from the environment in one place, with defaults.

Nothing else in the project reads `os.environ`; call `get_settings()` (cached) and
pass values on. Each setting is one field declared with `setting(ENV_NAME, default, kind=...)`:
`Settings.from_env` reads it and `Settings.to_env` writes it back, and child processes (Rasa, the action
server, the console) get their environment from `child_environment()` (that, plus what `endpoints.yml` expands).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional, Tuple
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
# how long a message waits for the handoff state (Redis) before the visitor is told it was not delivered
ENV_WIDGET_HANDOFF_RETRY_SECONDS = "WIDGET_HANDOFF_RETRY_SECONDS"
# failed order lookups (number and email that do not match) within ORDER_LOOKUP_WINDOW_SECONDS, counted in Redis
ENV_ORDER_LOOKUP_MAX_FAILURES = "ORDER_LOOKUP_MAX_FAILURES"  # per conversation
ENV_ORDER_LOOKUP_MAX_FAILURES_PER_ADDRESS = "ORDER_LOOKUP_MAX_FAILURES_PER_ADDRESS"  # per client address
ENV_ORDER_LOOKUP_MAX_FAILURES_PER_EMAIL_OR_ORDER = "ORDER_LOOKUP_MAX_FAILURES_PER_EMAIL_OR_ORDER"  # per email, per number
ENV_ORDER_LOOKUP_WINDOW_SECONDS = "ORDER_LOOKUP_WINDOW_SECONDS"
ENV_CONSOLE_PORT = "CONSOLE_PORT"
ENV_CLUSTER_PORT = "CLUSTER_PORT"  # nginx's port in `make cluster`; 0: a free one (printed)
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
# the trainer loop (bot.training): where the data it edits and the models it trains live, what the inbox lists,
# and what an activation demands
ENV_TRAIN_DATA_DIR = "TRAIN_DATA_DIR"  # the data/ folder the console teaches into (nlu/, rules/, stories/)
ENV_TRAIN_DOMAIN_DIR = "TRAIN_DOMAIN_DIR"  # the domain/ folder
ENV_TRAIN_CONFIG = "TRAIN_CONFIG"  # the pipeline and policies (config.yml)
ENV_SHOP_FACTS_FILE = "SHOP_FACTS_FILE"  # shop/facts.yml: an FAQ's answer goes there
ENV_TRAIN_STORIES_DIR = "TRAIN_STORIES_DIR"  # the conversation tests a model must pass (tests/stories)
ENV_MODELS_DIR = "MODELS_DIR"  # the active model (current.tar.gz), candidates and the ones before
ENV_RASA_REPLICAS = "RASA_REPLICAS"  # comma-separated Rasa HTTP API URLs an activation loads; unset: RASA_API_URL
ENV_INBOX_CONFIDENCE = "INBOX_CONFIDENCE"  # a visitor message parsed below this confidence is in the NLU inbox
ENV_INBOX_DAYS = "INBOX_DAYS"  # how far back the inbox looks
ENV_ACTIVATE_F1_MARGIN = "ACTIVATE_F1_MARGIN"  # an intent's F1 may fall at most this much for a model to be activated
ENV_TRAIN_CV_FOLDS = "TRAIN_CV_FOLDS"  # cross-validation folds of a console training's evaluation; 0: none
# seconds a turn's custom actions may take in all; past it the visitor is told the system is slow (bot.turn_budget)
ENV_TURN_BUDGET_SECONDS = "TURN_BUDGET_SECONDS"
ENV_DATABASE_RETRY_SECONDS = "DATABASE_RETRY_SECONDS"
ENV_RASA_LOCK_LIFETIME = "TICKET_LOCK_LIFETIME"  # Rasa's own variable (rasa.core.lock_store): ours derives it

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
DEFAULT_TURN_BUDGET_SECONDS = 10.0
DEFAULT_DATABASE_RETRY_SECONDS = 15.0
DEFAULT_LOCK_LIFETIME_SECONDS = 60  # Rasa's (rasa.core.constants.DEFAULT_LOCK_LIFETIME)
LOCK_SAVE_MARGIN_SECONDS = 10  # a turn's work after its actions (policies, tracker save), within the lock's life
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


def _number(env: Mapping[str, str], name: str, default: Any, kind: Callable[[str], Any] = int) -> Any:
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


def _origins(raw: str) -> tuple:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def _redis_url(url: str) -> str:
    RedisTarget.from_url(url)  # fail early on a malformed URL
    return url


@dataclass(frozen=True)
class Env:
    """How one setting is read from its environment variable `name` and written back for child processes.

    kind: text (unset or empty: the default), optional (unset or empty: None), int, float, flag (1/0), path or
    list (comma-separated). `parse` checks or normalises a text that is set; `bounds`/`must` limit a number."""
    name: str
    kind: str = "text"
    bounds: Tuple[Optional[int], Optional[int]] | None = None
    must: str = ""  # what the message says a number out of bounds must be; empty: "{low}-{high}"
    choices: Tuple[str, ...] = ()
    strip: bool = False
    lower: bool = False
    parse: Optional[Callable[[str], Any]] = None
    zero_is_unset: bool = False  # written as "" when 0 (0 means "the usual one")

    def read(self, env: Mapping[str, str], default: Any) -> Any:
        if self.kind in ("int", "float"):
            return self._bounded(_number(env, self.name, default, int if self.kind == "int" else float))
        if self.kind == "flag":
            return _flag(env, self.name, default)
        raw = env.get(self.name) or None
        if self.kind == "optional":
            return self.parse(raw) if raw and self.parse else raw
        if self.kind == "path":
            return Path(raw or default)
        if self.kind == "list":
            return _origins(raw or "")
        return self._text(raw if raw is not None else default)

    def _text(self, value: str) -> str:
        value = value.strip() if self.strip else value
        value = value.lower() if self.lower else value
        if self.choices and value not in self.choices:
            raise SettingsError(f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}")
        return value

    def _bounded(self, value: Any) -> Any:
        if self.bounds is None:
            return value
        low, high = self.bounds
        if (low is not None and value < low) or (high is not None and value > high):
            raise SettingsError(f"{self.name} must be {self.must or f'{low}-{high}'}, got {value}")
        return value

    def write(self, value: Any) -> str:
        if self.kind == "flag":
            return str(int(value))
        if self.kind == "list":
            return ",".join(value)
        if value is None or (self.zero_is_unset and value == 0):
            return ""
        return str(value)


def setting(env: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING, **how: Any) -> Any:
    """A Settings field read from (and written to) the environment variable `env`; see Env for `how`."""
    return field(default=default, default_factory=factory, metadata={"env": Env(env, **how)})


@dataclass(frozen=True)
class Settings:
    host: str = setting(ENV_HOST, DEFAULT_HOST)
    rasa_port: int = setting(ENV_RASA_PORT, DEFAULT_RASA_PORT, kind="int")
    actions_port: int = setting(ENV_ACTIONS_PORT, DEFAULT_ACTIONS_PORT, kind="int")
    redis_url: str | None = setting(ENV_REDIS_URL, None, kind="optional", parse=_redis_url)  # None: an embedded Redis
    # None: a SQLite file in var_dir
    database_url: str | None = setting(ENV_DATABASE_URL, None, kind="optional", parse=normalise_database_url)
    rasa_token: str = setting(ENV_RASA_TOKEN, factory=lambda: secrets.token_urlsafe(24))
    var_dir: Path = setting(ENV_VAR_DIR, DEFAULT_VAR_DIR, kind="path")
    embedded_redis_port: int = setting(ENV_EMBEDDED_REDIS_PORT, DEFAULT_EMBEDDED_REDIS_PORT, kind="int")
    # the action server listens on loopback only; in compose it is a private service
    actions_host: str = setting(ENV_ACTIONS_HOST, DEFAULT_HOST)
    actions_url_override: str | None = setting(ENV_ACTIONS_URL, None, kind="optional")
    # HMAC secret shared with the shop page for signed customer identity (bot.identity)
    identity_secret: str = setting(ENV_IDENTITY_SECRET, "")
    orders_api_url: str | None = setting(ENV_ORDERS_API_URL, None, kind="optional")  # None: the SQL demo shop
    orders_api_token: str = setting(ENV_ORDERS_API_TOKEN, "")
    orders_timeout: float = setting(ENV_ORDERS_TIMEOUT, DEFAULT_ORDERS_TIMEOUT, kind="float")
    widget_origins: tuple = setting(ENV_WIDGET_ORIGINS, (), kind="list")  # empty: rasa_url and its localhost twin
    widget_max_message_bytes: int = setting(ENV_WIDGET_MAX_MESSAGE_BYTES, 4096, kind="int")
    widget_rate: int = setting(ENV_WIDGET_RATE, 20, kind="int")
    widget_max_connections_per_ip: int = setting(ENV_WIDGET_MAX_CONNECTIONS_PER_IP, 20, kind="int")
    widget_address_rate: int = setting(ENV_WIDGET_ADDRESS_RATE, 60, kind="int")
    widget_session_rate: int = setting(ENV_WIDGET_SESSION_RATE, 30, kind="int")
    widget_handoff_retry_seconds: float = setting(ENV_WIDGET_HANDOFF_RETRY_SECONDS, 15.0, kind="float")
    order_lookup_max_failures: int = setting(ENV_ORDER_LOOKUP_MAX_FAILURES, 5, kind="int")
    order_lookup_max_failures_per_address: int = setting(ENV_ORDER_LOOKUP_MAX_FAILURES_PER_ADDRESS, 10, kind="int")
    order_lookup_max_failures_per_email_or_order: int = setting(ENV_ORDER_LOOKUP_MAX_FAILURES_PER_EMAIL_OR_ORDER, 5, kind="int")
    order_lookup_window_seconds: int = setting(ENV_ORDER_LOOKUP_WINDOW_SECONDS, DEFAULT_ORDER_LOOKUP_WINDOW_SECONDS, kind="int")
    rest_token: str = setting(ENV_REST_TOKEN, "")  # empty: the REST channel refuses every message (bot.channels.rest)
    max_request_bytes: int = setting(ENV_MAX_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES, kind="int")
    actions_max_request_bytes: int = setting(ENV_ACTIONS_MAX_REQUEST_BYTES, DEFAULT_ACTIONS_MAX_REQUEST_BYTES, kind="int")
    console_port: int = setting(ENV_CONSOLE_PORT, DEFAULT_CONSOLE_PORT, kind="int")
    cluster_port: int = setting(ENV_CLUSTER_PORT, 0, kind="int", bounds=(0, 65535), zero_is_unset=True)
    rasa_api_url_override: str | None = setting(ENV_RASA_API_URL, None, kind="optional")
    console_admin_password: str = setting(ENV_CONSOLE_ADMIN_PASSWORD, "")  # empty: a random one, kept in var/
    console_secure_cookies: bool = setting(ENV_CONSOLE_SECURE_COOKIES, False, kind="flag")
    console_login_tries: int = setting(ENV_CONSOLE_LOGIN_TRIES, 10, kind="int", bounds=(1, 1000))
    console_login_tries_per_address: int = setting(ENV_CONSOLE_LOGIN_TRIES_PER_ADDRESS, 30, kind="int", bounds=(1, 100000))
    console_max_text: int = setting(ENV_CONSOLE_MAX_TEXT, MAX_STORED_TEXT, kind="int", bounds=(1, MAX_STORED_TEXT))
    handoff_hours: str = setting(ENV_HANDOFF_HOURS, "")
    handoff_timezone: str = setting(ENV_HANDOFF_TIMEZONE, "UTC")
    handoff_max_wait: int = setting(ENV_HANDOFF_MAX_WAIT, DEFAULT_HANDOFF_MAX_WAIT, kind="int")
    handoff_auto_assign: bool = setting(ENV_HANDOFF_AUTO_ASSIGN, False, kind="flag")
    frustration_offer_at: float = setting(ENV_FRUSTRATION_OFFER_AT, 0.5, kind="float")
    touchpoint_retention_days: int = setting(ENV_TOUCHPOINT_RETENTION_DAYS, 365, kind="int")
    demo_data: bool = setting(ENV_DEMO_DATA, True, kind="flag")
    frustration_handover_at: float = setting(ENV_FRUSTRATION_HANDOVER_AT, 0.8, kind="float")
    # a chat's erasure waits this long, so its last turns are stored first
    erasure_delay_seconds: float = setting(ENV_ERASURE_DELAY_SECONDS, 30.0, kind="float")
    smtp_host: str = setting(ENV_SMTP_HOST, "", strip=True)  # empty: ticket answers are stored, not sent
    smtp_port: int = setting(ENV_SMTP_PORT, 0, kind="int", zero_is_unset=True)  # 0: the usual port for smtp_tls
    smtp_user: str = setting(ENV_SMTP_USER, "")
    smtp_password: str = setting(ENV_SMTP_PASSWORD, "")
    smtp_from: str = setting(ENV_SMTP_FROM, "", strip=True)
    smtp_tls: str = setting(ENV_SMTP_TLS, "starttls", strip=True, lower=True, choices=tuple(SMTP_TLS_PORTS))
    smtp_timeout: float = setting(ENV_SMTP_TIMEOUT, DEFAULT_SMTP_TIMEOUT, kind="float")
    # the demo page signs in whom it is asked for (requests from this machine only); see from_env's demo_default
    demo_mode: bool = setting(ENV_DEMO_MODE, False, kind="flag")
    # the forwarded addresses to trust (bot.proxies); 0, "": none
    proxies_count: int = setting(ENV_PROXIES_COUNT, 0, kind="int", bounds=(0, None), zero_is_unset=True,
                                 must="the number of proxies in front of the bot (0 or more)")
    real_ip_header: str = setting(ENV_REAL_IP_HEADER, "", strip=True)
    forwarded_secret: str = setting(ENV_FORWARDED_SECRET, "")
    embedded_redis_password: str = setting(ENV_EMBEDDED_REDIS_PASSWORD, "")  # empty: made once, kept in var/
    train_data_dir: Path = setting(ENV_TRAIN_DATA_DIR, ROOT / "data", kind="path")
    train_domain_dir: Path = setting(ENV_TRAIN_DOMAIN_DIR, ROOT / "domain", kind="path")
    train_config: Path = setting(ENV_TRAIN_CONFIG, ROOT / "config.yml", kind="path")
    shop_facts_file: Path = setting(ENV_SHOP_FACTS_FILE, ROOT / "shop" / "facts.yml", kind="path")
    train_stories_dir: Path = setting(ENV_TRAIN_STORIES_DIR, ROOT / "tests" / "stories", kind="path")
    models_dir: Path = setting(ENV_MODELS_DIR, ROOT / "models", kind="path")
    rasa_replicas: tuple = setting(ENV_RASA_REPLICAS, (), kind="list")  # empty: (rasa_api_url,)
    inbox_confidence: float = setting(ENV_INBOX_CONFIDENCE, 0.6, kind="float")
    inbox_days: int = setting(ENV_INBOX_DAYS, 30, kind="int", bounds=(1, 3660))
    activate_f1_margin: float = setting(ENV_ACTIVATE_F1_MARGIN, 0.05, kind="float")
    train_cv_folds: int = setting(ENV_TRAIN_CV_FOLDS, 3, kind="int", bounds=(0, 10))
    turn_budget_seconds: float = setting(ENV_TURN_BUDGET_SECONDS, DEFAULT_TURN_BUDGET_SECONDS, kind="float",
                                         bounds=(1, 120), must="1-120 seconds")
    # how long a conversation's load or save waits for an unreachable database before the visitor is told
    database_retry_seconds: float = setting(ENV_DATABASE_RETRY_SECONDS, DEFAULT_DATABASE_RETRY_SECONDS, kind="float",
                                            bounds=(0, 120), must="0-120 seconds")

    @classmethod
    def declared(cls) -> List[Tuple[dataclasses.Field, Env]]:
        """Every setting with how it is read from the environment, in declaration order."""
        return [(f, f.metadata["env"]) for f in dataclasses.fields(cls)]

    @classmethod
    def from_env(cls, env: Mapping[str, str], demo_default: bool = False) -> Settings:
        """`demo_default`: demo mode when DEMO_MODE is unset and the bot serves this machine and the demo shop."""
        values = {}
        for f, how in cls.declared():
            if f.default is dataclasses.MISSING:  # made up when unset (the API token)
                if env.get(how.name):
                    values[f.name] = how.read(env, None)
                continue
            values[f.name] = how.read(env, f.default)
        values["demo_mode"] = _flag(env, ENV_DEMO_MODE, default=demo_default and values["host"] in LOOPBACK_HOSTS
                                    and not values["orders_api_url"])
        _check_smtp(values)
        _check_budget(values)
        return cls(**values)

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
    def lock_lifetime_seconds(self) -> int:
        """How long a conversation's lock lives (Rasa's TICKET_LOCK_LIFETIME), derived from the turn budget so it
        always outlives a turn: the ticket is issued after the turn's budget starts (bot.turn_budget), and a turn
        may wait behind one turn of another replica, so twice the budget plus the time to save, plus its waits for
        an unreachable database (its load, a new conversation's first save and its last, bot.rasa_stores); at least
        Rasa's 60 s."""
        turn = 2 * self.turn_budget_seconds + 3 * self.database_retry_seconds
        return max(DEFAULT_LOCK_LIFETIME_SECONDS, math.ceil(turn) + LOCK_SAVE_MARGIN_SECONDS)

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
    def replicas(self) -> Tuple[str, ...]:
        """The Rasa servers an activated model is loaded into."""
        return tuple(self.rasa_replicas) or (self.rasa_api_url,)

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
        made: dict[str, Any] = {}  # field name -> value, for dataclasses.replace
        if not self.identity_secret:
            made["identity_secret"] = kept_secret(self.var_dir / IDENTITY_SECRET_FILE)
        if not self.redis_url and not self.embedded_redis_password:
            made["embedded_redis_password"] = kept_secret(self.var_dir / REDIS_PASSWORD_FILE)
        return dataclasses.replace(self, **made) if made else self

    def to_env(self) -> dict:
        """These settings as the environment, so child processes compute exactly the same ones."""
        return {how.name: how.write(getattr(self, f.name)) for f, how in self.declared()}

    def rasa_environment(self) -> dict:
        """Variables that endpoints.yml expands (see that file)."""
        redis = self.redis
        return {
            "ACTION_ENDPOINT_URL": self.actions_url,
            "TRACKER_STORE_URL": self.sql_url,
            "LOCK_STORE_HOST": redis.host,
            "LOCK_STORE_PORT": str(redis.port),
            "LOCK_STORE_PASSWORD": redis.password,
            "LOCK_STORE_DB": str(redis.db),  # the URL's db, as for everything else (keys are prefixed)
            ENV_RASA_LOCK_LIFETIME: str(self.lock_lifetime_seconds),
        }


def _check_smtp(values: dict) -> None:
    """A mail server needs a sender address."""
    if values["smtp_host"] and "@" not in parseaddr(values["smtp_from"])[1]:
        raise SettingsError(f"{ENV_SMTP_FROM} must be the sender's address when {ENV_SMTP_HOST} is set, "
                            f"got {values['smtp_from']!r}")


def _check_budget(values: dict) -> None:
    """One order API call must fit in a turn's budget, so a slow shop API is told as the order answer's own
    "unavailable" message, not cut off as a slow turn (bot.turn_budget)."""
    if values["orders_timeout"] >= values["turn_budget_seconds"]:
        raise SettingsError(f"{ENV_ORDERS_TIMEOUT} ({values['orders_timeout']:g} s) must be shorter than "
                            f"{ENV_TURN_BUDGET_SECONDS} ({values['turn_budget_seconds']:g} s)")


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


def running_rasa_token(settings: Settings, env: Mapping[str, str] = os.environ) -> str:
    """The token of the Rasa server(s) a command talks to: RASA_TOKEN, else the one `python -m bot run` keeps in var/."""
    if env.get(ENV_RASA_TOKEN):
        return settings.rasa_token
    try:
        return (settings.var_dir / RASA_TOKEN_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return settings.rasa_token


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
    # numpy's OpenBLAS hands each small product of a turn (featurisers, classifiers) to a helper thread that then
    # spins waiting for more: under load that thread burned most of a core for nothing (psutil per thread; gdb:
    # blas_thread_server). A process with one event loop gains nothing from it. An explicit value is kept.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
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
