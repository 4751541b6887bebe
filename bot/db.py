"""One SQLAlchemy engine per database URL, shared by every store in the process, and the Alembic runs that
bring each schema to its current revision.

Stores that live as long as an object (users, handoff records, the demo shop, the console's analytics) `hold`
the engine and `release` it in their close(): the last holder's release closes its pooled connections, so no
store closes connections another still uses. A function that uses the database once borrows it (`using`).
`dispose_all` closes every pool, at process stop and in tests.
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import sqlalchemy as sa

SQLITE_BUSY_TIMEOUT = 15  # seconds a SQLite writer waits for another's lock (the demo shop's seed is long)

_engines: Dict[Tuple[str, str], sa.engine.Engine] = {}
_holders: Dict[Tuple[str, str], int] = {}
_lock = threading.Lock()


def _options(url: str, extra: Dict[str, Any]) -> Dict[str, Any]:
    options: Dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
    options.update(extra)
    return options


def _key(url: str, extra: Dict[str, Any]) -> Tuple[str, str]:
    return url, repr(sorted(extra.items()))


def engine(url: str, **options: Any) -> sa.engine.Engine:
    """The process's engine for `url` (and these extra options); never dispose it yourself."""
    key = _key(url, options)
    with _lock:
        if key not in _engines:
            _engines[key] = sa.create_engine(url, **_options(url, options))
        return _engines[key]


def hold(url: str, **options: Any) -> sa.engine.Engine:
    """The shared engine, counted as held until `release`d."""
    key = _key(url, options)
    with _lock:
        if key not in _engines:
            _engines[key] = sa.create_engine(url, **_options(url, options))
        _holders[key] = _holders.get(key, 0) + 1
        return _engines[key]


def release(held: sa.engine.Engine) -> None:
    """One holder lets go; the last one closes the engine's connections (the next user gets a fresh engine)."""
    with _lock:
        key = next((k for k, e in _engines.items() if e is held), None)
        if key is None:  # already disposed (dispose_all)
            return
        _holders[key] = _holders.get(key, 1) - 1
        if _holders[key] > 0:
            return
        del _holders[key], _engines[key]
    held.dispose()


@contextlib.contextmanager
def using(url: str) -> Iterator[sa.engine.Engine]:
    """The shared engine for one piece of work: held while it runs."""
    borrowed = hold(url)
    try:
        yield borrowed
    finally:
        release(borrowed)


def dispose_all() -> None:
    """Close every engine's connections and forget them (process stop, tests)."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
        _holders.clear()
    for each in engines:
        each.dispose()


def migrate(url: str, scripts: Path, target: str = "heads") -> None:
    """Bring the schema in `scripts` (an Alembic folder) to `target` on `url` (idempotent; its owner caches it)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    with using(url) as shared, shared.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def run_migrations(context: Any, metadata: sa.MetaData, version_table: str) -> None:
    """The body of an Alembic env.py: on the connection `migrate` passes (or the URL's engine), one process at
    a time on PostgreSQL (an advisory lock: the console and the action server may start together)."""
    connection = context.config.attributes.get("connection")
    if connection is None:  # the alembic command line
        with using(context.config.get_main_option("sqlalchemy.url")) as shared, shared.begin() as connection:
            _run(context, connection, metadata, version_table)
    else:
        _run(context, connection, metadata, version_table)


def _run(context: Any, connection: sa.engine.Connection, metadata: sa.MetaData, version_table: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": version_table})
    context.configure(connection=connection, target_metadata=metadata, version_table=version_table)
    with context.begin_transaction():
        context.run_migrations()


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database `url` names if the server does not have it yet (what `make cluster` on a new
    machine needs; the schemas are then brought up as usual). True if it was created; SQLite needs nothing."""
    parsed = sa.engine.make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return False
    server = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    try:
        with server.connect() as conn:
            if conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                            {"name": parsed.database}).first():
                return False
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database.replace(chr(34), chr(34) * 2)}"'))
            return True
    finally:
        server.dispose()
