"""A TCP relay in front of a real server (PostgreSQL, in the fault tests) that a test can take down and bring
back: down() drops every open connection and resets new ones at once, up() relays again. What the clients see is
what they see when the server restarts or fails over. The port stays bound throughout, so nothing else can take it
while the server is "down"."""
from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import List, Tuple

import sqlalchemy as sa

CHUNK = 65536


def reset(sock: socket.socket) -> None:
    """Close with a RST (SO_LINGER 0), as a connection to a server that is going away."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class TcpProxy:
    def __init__(self, upstream: Tuple[str, int]) -> None:
        self.upstream = upstream
        self._open: List[socket.socket] = []
        self._lock = threading.Lock()
        self._up = True
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> Tuple[str, int]:
        return "127.0.0.1", self.port

    def up(self) -> None:
        self._up = True

    def down(self) -> None:
        """Every connection cut; new ones are reset as soon as they are accepted."""
        with self._lock:
            self._up = False
            cut, self._open = self._open, []
        for sock in cut:
            reset(sock)

    def close(self) -> None:
        self.down()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed by close()
                return
            if not self._up:
                reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                reset(client)
                continue
            server.settimeout(None)
            with self._lock:
                if not self._up:  # went down meanwhile
                    reset(client)
                    reset(server)
                    continue
                self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                for sock in (source, sink):
                    if sock in self._open:
                        self._open.remove(sock)
                        sock.close()


def through(proxy: TcpProxy, database_url: str) -> str:
    """The same database, reached through the proxy."""
    url = sa.engine.make_url(database_url)
    return url.set(host=proxy.address[0], port=proxy.address[1]).render_as_string(hide_password=False)
