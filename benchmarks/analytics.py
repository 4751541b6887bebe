"""Dashboard queries on 1,000,000 touchpoints: generates them (demo conversations spread over 60 days) into
a scratch schema or file, then times every chart's query for a 28-day and a 60-day range.

PostgreSQL when BENCH_DATABASE_URL is set (the target is < 500 ms per chart there); SQLite otherwise."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.stats import heading
from bot.settings import bench_database_url
from bot.touchpoints import demo, rollup
from bot.touchpoints.analytics import Analytics
from bot.touchpoints.models import conversation_days, touchpoints, upgrade

ROWS = 1_000_000
DAYS = 60
SCHEMA = "bench_touchpoints"
COLUMNS = [c.name for c in touchpoints.columns if c.name != "id"]


def _scratch_url(base: str) -> str:
    if base.startswith("postgresql"):
        engine = sa.create_engine(base)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        engine.dispose()
        return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{SCHEMA}"
    return base


def generate(url: str, rows: int = ROWS) -> float:
    """Fill the table with `rows` demo touchpoints; returns seconds taken."""
    upgrade(url)
    per_day = int(rows / DAYS / 7.5)  # ~9 touchpoints per demo conversation: a little more than needed
    started = time.perf_counter()
    engine = sa.create_engine(url)
    batch, count = [], 0
    source = demo.rows(DAYS, per_day, dt.datetime.utcnow(), seed=11)
    with engine.begin() as conn:
        for item in source:
            batch.append(item)
            if len(batch) >= 20_000:
                count += _insert(conn, batch)
                batch = []
            if count + len(batch) >= rows:
                break
        count += _insert(conn, batch)
    with engine.begin() as conn:  # the rows went in around rollup.insert (COPY), so the rollup is built once
        rollup.rebuild(conn)
    if url.startswith("postgresql"):  # what autovacuum does on a live database: statistics and visibility map
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE touchpoints"))
            conn.execute(sa.text("VACUUM ANALYZE conversation_days"))
    engine.dispose()
    return time.perf_counter() - started


def _insert(conn, batch) -> int:
    if not batch:
        return 0
    if conn.dialect.name == "postgresql":  # COPY: the way a million rows go in quickly
        buf = io.StringIO()
        writer = csv.writer(buf)
        for item in batch:
            writer.writerow(["\\N" if item[c] is None else (json.dumps(item[c]) if c == "meta" else item[c]) for c in COLUMNS])
        buf.seek(0)
        raw = conn.connection.cursor()
        raw.copy_expert(f"COPY touchpoints ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf)
    else:
        conn.execute(touchpoints.insert(), batch)
    return len(batch)


def report() -> None:
    base = bench_database_url()
    with tempfile.TemporaryDirectory() as tmp:
        url = _scratch_url(base or f"sqlite:///{Path(tmp) / 'bench.db'}")
        kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite (set BENCH_DATABASE_URL for PostgreSQL)"
        heading(f"Analytics queries on {ROWS:,} touchpoints, {kind}")
        took = generate(url)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(touchpoints)).scalar()
            days = conn.execute(sa.select(sa.func.count()).select_from(conversation_days)).scalar()
        print(f"  generated {total:,} rows ({days:,} conversation-days in the rollup) in {took:.0f} s")
        analytics = Analytics(engine)
        # whole days up to and including today, as the dashboard asks for them
        end = dt.datetime.combine(dt.datetime.utcnow().date() + dt.timedelta(days=1), dt.time())
        for days in (28, DAYS):
            analytics.summary(end - dt.timedelta(days=days), end)  # warm the cache, as a dashboard in use would be
            started = time.perf_counter()
            analytics.summary(end - dt.timedelta(days=days), end)
            whole = (time.perf_counter() - started) * 1000
            slowest = max(analytics.timings.items(), key=lambda kv: kv[1])
            print(f"  {days}-day range: whole dashboard {whole:.0f} ms; per query (ms): {analytics.timings}")
            print(f"    slowest: {slowest[0]} {slowest[1]:.0f} ms, {slowest[1] / 500:.2f} of the 500 ms target")
        engine.dispose()
        if base and base.startswith("postgresql"):
            engine = sa.create_engine(base)
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            engine.dispose()
