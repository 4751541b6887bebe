"""The NLU inbox on 100,000 touchpoints: generates demo conversations over 30 days into a fresh SQLite file,
their visitor messages varied (training examples with order numbers, emails, phones and names in them, so
masking and grouping work on many distinct texts), then times Inbox.items() (target < 1 s)."""
from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import sqlalchemy as sa
import yaml

from benchmarks.stats import heading, summary_ms
from bot import db
from bot.settings import ROOT
from bot.touchpoints import demo, rollup
from bot.touchpoints.models import touchpoints, upgrade
from bot.training.inbox import Inbox

ROWS = 100_000
DAYS = 30
CALLS = 7
EXTRAS = ["", "", "", " order {order}", " my email is {email}", " thanks, {name}", " call me on 0176 {phone}",
          " #{order} please", ", I'm {name}"]
NAMES = ["Anna", "Tomasz", "Jürgen", "Maria", "Kofi", "Ines", "Liam", "Yuki"]


def examples() -> List[str]:
    found = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            found += [line[2:].strip() for line in str(block.get("examples") or "").splitlines() if line.startswith("- ")]
    return found


def varied(rng: random.Random, texts: List[str]) -> str:
    extra = rng.choice(EXTRAS).format(order=rng.randint(100000, 999999), email=f"user{rng.randint(1, 9999)}@mail.de",
                                      name=rng.choice(NAMES), phone=rng.randint(1000000, 9999999))
    return (rng.choice(texts) + extra)[:500]


def generate(url: str, rows: int = ROWS) -> float:
    upgrade(url)
    rng, texts = random.Random(3), examples()
    started = time.perf_counter()
    per_day = int(rows / DAYS / 7.5)
    batch: List[Dict[str, Any]] = []
    count = 0
    with db.using(url) as engine, engine.begin() as conn:
        for item in demo.rows(DAYS, per_day, dt.datetime.utcnow(), seed=5):
            if item["actor"] == "visitor" and item["type"] == "message" and item["text"] not in ("hi", "thanks"):
                item["text"] = varied(rng, texts)
            batch.append(item)
            if len(batch) >= 20_000 or count + len(batch) >= rows:
                conn.execute(touchpoints.insert(), batch)
                count, batch = count + len(batch), []
            if count >= rows:
                break
        if batch:
            conn.execute(touchpoints.insert(), batch)
        rollup.rebuild(conn)
    return time.perf_counter() - started


def timed(inbox: Inbox, **query: Any) -> str:
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter()
        page, total = inbox.items(**query)
        samples.append(time.perf_counter() - started)
    return f"{summary_ms(samples)}; {total:,} groups"


def report() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'inbox.db'}"
        heading(f"NLU inbox on {ROWS:,} touchpoints over {DAYS} days, SQLite")
        took = generate(url)
        with db.using(url) as engine, engine.connect() as conn:
            messages = conn.execute(sa.select(sa.func.count()).select_from(touchpoints).where(
                touchpoints.c.actor == "visitor", touchpoints.c.type == "message")).scalar()
        print(f"  generated {ROWS:,} rows ({messages:,} visitor messages) in {took:.0f} s")
        inbox = Inbox(url, f"sqlite:///{Path(tmp) / 'bot.db'}", confidence=0.6, days=DAYS)
        started = time.perf_counter()
        inbox.items()
        print(f"  first call (masks every listed text): {(time.perf_counter() - started) * 1000:.0f} ms")
        for order in ("newest", "frequent"):
            for search in ("", "refund"):
                print(f"  items(order={order!r}, search={search!r}): {timed(inbox, order=order, search=search)}")
        inbox.close()
        db.dispose_all()


if __name__ == "__main__":
    report()
