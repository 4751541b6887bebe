"""Start and stop the whole bot: embedded Redis (when no REDIS_URL), action server, Rasa, agent console.

Used by `python -m bot run` and by the integration tests, so tests exercise exactly
what a shop owner runs. Each child writes to its own log file in var/logs/.
"""
from __future__ import annotations

import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import requests

from bot.embedded_redis import EmbeddedRedis, stop_process
from bot.private_files import PRIVATE_UMASK, open_private_log, private_dir, private_umask, write_private
from bot.settings import RASA_TOKEN_FILE, ROOT, Settings, child_environment

logger = logging.getLogger(__name__)

DEFAULT_START_TIMEOUT = 180.0
MAX_CRASHES = 5  # restarts of one process within CRASH_WINDOW_SECONDS before giving up
CRASH_WINDOW_SECONDS = 300  # Rasa loads TensorFlow and the model: 20-60 s on 2 cores
MODELS_DIR = ROOT / "models"
SANIC_MAX_BODY = "SANIC_REQUEST_MAX_SIZE"  # Sanic reads SANIC_* into its config (Rasa's and rasa-sdk's apps too)


class StartError(RuntimeError):
    """A part of the stack did not come up; the message says which and where its log is."""


def commands(settings: Settings, model: Optional[Path] = None) -> Dict[str, Tuple[str, List[str], dict, str]]:
    """key -> (name, argv, environment, health URL) of each server process, for `run` and for compose. Rasa loads
    `model` (a file, or the newest in a folder), by default settings.models_dir: where an activation puts
    current.tar.gz, so a restarted server loads the model that was active."""
    py = sys.executable
    model = settings.models_dir if model is None else model
    return {
        "actions": (
            "action server",
            [py, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.actions_port)],
            # not public: only Rasa calls it, with the whole tracker in every call
            child_environment(settings, SANIC_HOST=settings.actions_host,
                              **{SANIC_MAX_BODY: str(settings.actions_max_request_bytes)}),
            f"http://127.0.0.1:{settings.actions_port}/health",
        ),
        "rasa": (
            "Rasa server",
            # `rasa run`, given the API token from RASA_TOKEN (bot.rasa_server): a command line is public, see `ps`
            [py, "-m", "bot.rasa_server", "--enable-api",
             "-i", settings.host, "-p", str(settings.rasa_port), "--model", str(model),
             "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
            child_environment(settings, **{SANIC_MAX_BODY: str(settings.max_request_bytes)}),
            f"http://127.0.0.1:{settings.rasa_port}/",
        ),
        "console": (
            "agent console",
            [py, "-m", "bot.console"],
            child_environment(settings),
            f"http://127.0.0.1:{settings.console_port}/health",
        ),
    }


@dataclass
class Child:
    name: str
    args: List[str]
    health_url: str
    log_path: Path
    env: dict
    process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open_private_log(self.log_path)
        # own session: a terminal Ctrl-C reaches only the supervisor, which stops children in order
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            umask=PRIVATE_UMASK,  # databases, logs and spilled touchpoints are the bot's user's alone
        )
        log.close()  # the child holds its own descriptor

    @property
    def started(self) -> subprocess.Popen:
        """The running (or exited) process; only asked for after start()."""
        assert self.process is not None, f"{self.name} was not started"
        return self.process

    def wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.started.poll() is not None:
                raise StartError(f"{self.name} exited with {self.started.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.health_url, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise StartError(f"{self.name} did not answer {self.health_url} in time:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"(no log at {self.log_path})"
        return "\n".join(text) + f"\n(full log: {self.log_path})"

    def stop(self, timeout: float = 15.0) -> None:
        stop_process(self.process, timeout)


def ensure_console_admin(settings: Settings) -> tuple:
    from bot.console.users import Users, ensure_admin

    users = Users(settings.sql_url)
    try:
        return ensure_admin(users, settings.var_dir, settings.console_admin_password)
    finally:
        users.close()


def prepare_touchpoints(settings: Settings) -> None:
    """The touchpoint schema at its current migration, and demo conversations in an empty table."""
    from bot.touchpoints import demo
    from bot.touchpoints.models import upgrade

    upgrade(settings.touchpoints_url)
    if settings.demo_data:
        added = demo.fill_if_empty(settings.touchpoints_url, settings.var_dir)
        if added:
            logger.info("added %d demo touchpoints (remove them with `python -m bot demo-data --remove`)", added)


def start_embedded_redis(settings: Settings) -> EmbeddedRedis:
    """The embedded Redis, asking for the password every client is given (settings.redis)."""
    return EmbeddedRedis(settings.var_dir / "redis", settings.embedded_redis_port, password=settings.redis.password).start()


def seed_demo_shop(url: str) -> int:
    from bot.orders.seed import seed
    from bot.orders.sql import SqlOrders

    orders = SqlOrders(url)
    try:
        return seed(orders)
    finally:
        orders.close()


@dataclass
class Stack:
    settings: Settings
    model: Optional[Path] = None  # None: settings.models_dir
    children: List[Child] = field(default_factory=list)
    redis: EmbeddedRedis | None = None
    crashes: Dict[str, List[float]] = field(default_factory=dict)  # restart times per child, for revive()
    admin: tuple = ("admin", None)  # the console's first admin and where its password is

    @property
    def log_dir(self) -> Path:
        return self.settings.var_dir / "logs"

    def _children(self) -> List[Child]:
        return [
            Child(name, args, health, self.log_dir / f"{key}.log", env)
            for key, (name, args, env, health) in commands(self.settings, self.model).items()
        ]

    @property
    def rasa_token_file(self) -> Path:
        return self.settings.var_dir / RASA_TOKEN_FILE

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> Stack:
        private_dir(self.settings.var_dir)
        self.settings = self.settings.with_secrets()  # children inherit the same secrets
        write_private(self.rasa_token_file, self.settings.rasa_token + "\n")  # for your tools; not on display
        try:
            with private_umask():  # the databases and files made here are the bot's user's alone
                self.prepare()
            self.children = self._children()
            for child in self.children:  # start all, then wait: they load in parallel
                child.start()
            deadline = time.monotonic() + timeout
            for child in self.children:
                child.wait_healthy(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def prepare(self) -> None:
        """What the servers need before they start: Redis, the demo shop, the first admin, the touchpoint schema."""
        if not self.settings.redis_url:
            self.redis = start_embedded_redis(self.settings)
        if not self.settings.orders_api_url:
            seed_demo_shop(self.settings.sql_url)
        self.admin = ensure_console_admin(self.settings)
        prepare_touchpoints(self.settings)

    def revive(self, now: Optional[float] = None) -> List[str]:
        """Restart any child that died; returns their names. Too many crashes in a row is a StartError."""
        now = time.monotonic() if now is None else now
        revived = []
        for child in self.children:
            if child.started.poll() is None:  # all were started by start()
                continue
            recent = [t for t in self.crashes.get(child.name, []) if now - t < CRASH_WINDOW_SECONDS]
            if len(recent) >= MAX_CRASHES:
                raise StartError(f"{child.name} crashed {len(recent)} times in {CRASH_WINDOW_SECONDS} s:\n{child.log_tail()}")
            logger.warning("%s exited with %s; restarting it", child.name, child.started.returncode)
            self.crashes[child.name] = recent + [now]
            child.start()
            revived.append(child.name)
        return revived

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        if self.redis:
            self.redis.stop()
            self.redis = None

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
