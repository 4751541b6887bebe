"""The production topology on one machine, without Docker: N Rasa replicas, the action server, the console and
Debian's nginx in front, against the Redis and PostgreSQL the settings name (an embedded Redis when none).

The same shape as docker-compose.yml, so tests and benchmarks run against it: `make cluster`, or
`with Cluster(settings, replicas=2) as cluster:` then talk to `cluster.url` (nginx), kill and restart parts by name
("rasa-1", "rasa-2", ..., "actions", "console", "nginx"). nginx runs as the current user with its config, pid,
logs and temp files under var/cluster/nginx, on a free port. Each replica is the same `bot.rasa_server` command
`make run` starts (bot.runner.commands), on a port of its own.
"""
from __future__ import annotations

import dataclasses
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

from bot.runner import DEFAULT_START_TIMEOUT, Child, Stack, StartError, commands
from bot.settings import ROOT, Settings

DEFAULT_REPLICAS = 2
NGINX_TEMPLATE = ROOT / "cluster" / "nginx.conf.template"
DEBIAN_NGINX = "/usr/sbin/nginx"
NGINX_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
ACTIONS, CONSOLE, NGINX = "actions", "console", "nginx"


def free_port() -> int:
    """A port nobody listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replica_name(number: int) -> str:
    return f"rasa-{number}"


def nginx_binary() -> str:
    found = shutil.which("nginx") or (DEBIAN_NGINX if Path(DEBIAN_NGINX).exists() else None)
    if not found:
        raise StartError("no nginx: install Debian's package (apt-get install nginx-light or nginx)")
    return found


def nginx_config(prefix: Path, listen: str, replicas: List[str], console: str, max_body: int) -> str:
    """cluster/nginx.conf.template filled in: `replicas` and `console` as host:port."""
    servers = "\n".join(f"        server {address} max_fails=1 fail_timeout=2s;" for address in replicas)
    values = {"prefix": str(prefix), "listen": listen, "rasa_servers": servers, "console": console,
              "max_body": str(max_body)}
    text = NGINX_TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


@dataclass
class Cluster(Stack):
    replicas: int = DEFAULT_REPLICAS
    port: int = 0  # nginx's; 0: a free one
    replica_ports: List[int] = field(default_factory=list)
    named: Dict[str, Child] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError("a cluster needs at least one Rasa replica")
        self.port = self.port or free_port()
        self.replica_ports = self.replica_ports or [free_port() for _ in range(self.replicas)]
        self.settings = self.cluster_settings(self.settings)

    def cluster_settings(self, settings: Settings) -> Settings:
        """What every process of the cluster shares: the console reaches replica 1's HTTP API and loads activated
        models into all of them; the widget is served from nginx's address, behind one proxy."""
        return dataclasses.replace(
            settings, rasa_port=self.replica_ports[0],
            rasa_api_url_override=f"http://127.0.0.1:{self.replica_ports[0]}",
            rasa_replicas=tuple(f"http://127.0.0.1:{port}" for port in self.replica_ports),
            widget_origins=settings.widget_origins or (self.url, f"http://localhost:{self.port}"),
            proxies_count=settings.proxies_count or 1)

    @property
    def url(self) -> str:
        """nginx: the widget (socket.io, /webhooks/widget/) and the console, the one public address."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def replica_urls(self) -> List[str]:
        return [f"http://127.0.0.1:{port}" for port in self.replica_ports]

    @property
    def nginx_dir(self) -> Path:
        return self.settings.var_dir / "cluster" / "nginx"

    def _children(self) -> List[Child]:
        made = commands(self.settings, self.model)
        children = []
        for number, port in enumerate(self.replica_ports, start=1):
            _, args, env, health = commands(dataclasses.replace(self.settings, rasa_port=port), self.model)["rasa"]
            name = replica_name(number)
            children.append(Child(name, args, health, self.log_dir / f"{name}.log", env))
        for key in (ACTIONS, CONSOLE):
            _, args, env, health = made[key]
            children.append(Child(key, args, health, self.log_dir / f"{key}.log", env))
        children.append(self.nginx_child())
        self.named = {child.name: child for child in children}
        return children

    def nginx_child(self) -> Child:
        conf = self.nginx_dir / "nginx.conf"
        args = [nginx_binary(), "-e", str(self.nginx_dir / "error.log"), "-p", str(self.nginx_dir), "-c", str(conf)]
        return Child(NGINX, args, f"{self.url}/nginx-health", self.log_dir / "nginx.log", {})

    def prepare(self) -> None:
        super().prepare()
        for name in NGINX_TEMP_DIRS:
            (self.nginx_dir / "tmp" / name).mkdir(parents=True, exist_ok=True)
        console = f"127.0.0.1:{self.settings.console_port}"
        replicas = [f"127.0.0.1:{port}" for port in self.replica_ports]
        text = nginx_config(self.nginx_dir, f"127.0.0.1:{self.port}", replicas, console,
                            self.settings.max_request_bytes)
        (self.nginx_dir / "nginx.conf").write_text(text, encoding="utf-8")

    def child(self, name: str) -> Child:
        if name not in self.named:
            raise KeyError(f"no {name!r} in the cluster; there are {', '.join(self.named)}")
        return self.named[name]

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash: nothing of it gets to clean up."""
        process = self.child(name).started
        if process.poll() is None:
            process.kill()
            process.wait()

    def restart(self, name: str, timeout: float = DEFAULT_START_TIMEOUT) -> None:
        """Stop it (if it runs), start it again and wait until it answers its health URL."""
        child = self.child(name)
        child.stop()
        child.start()
        child.wait_healthy(time.monotonic() + timeout)

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> Cluster:
        super().start(timeout)
        return self

    def __enter__(self) -> Cluster:
        return self.start()

