"""Demo touchpoints: a few weeks of believable conversations, so a new install shows a living dashboard
(and the benchmark has a million rows to query). Demo conversations are named demo-* and can be removed;
once removed they do not come back by themselves (a marker file in the var folder says so)."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import sqlalchemy as sa

from bot import db
from bot.touchpoints import rollup
from bot.touchpoints.journey import stage_for
from bot.touchpoints.models import touchpoints, upgrade

PREFIX = "demo-"
REMOVED_MARKER = "demo-data-removed"
INTENTS = [("track_order", 20), ("faq_shipping_cost", 8), ("check_refund_policy", 7), ("get_refund", 6),
           ("cancel_order", 5), ("change_shipping_address", 4), ("delivery_period", 6), ("check_payment_methods", 5),
           ("payment_issue", 3), ("get_invoice", 4), ("faq_size_guide", 4), ("faq_opening_hours", 3),
           ("recover_password", 3), ("faq_gift_cards", 2), ("complaint", 3), ("review", 1), ("track_refund", 4),
           ("newsletter_subscription", 1), ("faq_international_shipping", 2), ("place_order", 2)]
UNANSWERED = ["do you have a student discount", "can I pay in bitcoin", "is the jacket vegan", "can you gift wrap",
              "do you sell in stores in munich", "what's the carbon footprint of shipping", "can I reserve an item",
              "does the lamp work in the US"]
ANGRY = ["this is ridiculous, where is my parcel!!!", "third time I ask about my refund", "your service is useless",
         "still waiting for weeks", "I'll never order here again"]
AGENTS = ["anna", "ben", "chiara", "dev"]
CHANNELS = [("widget", 8), ("rest", 1)]


def _pick(rng: random.Random, weighted):
    return rng.choices([x for x, _ in weighted], weights=[w for _, w in weighted])[0]


def conversation(rng: random.Random, cid: str, start: dt.datetime) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    customer = f"C{rng.randint(1, 400):05d}" if rng.random() < 0.55 else None
    channel = _pick(rng, CHANNELS)
    now, stage = start, "awareness"
    frustrated_conv = rng.random() < 0.12

    def add(kind: str, actor: str, *, intent=None, confidence=None, frustration=None, latency=None, text=None,
            agent=None, **meta):
        nonlocal stage
        row_stage = stage_for(intent, kind, stage)
        if actor == "visitor" or kind in ("rating", "ticket"):
            stage = row_stage
        rows.append({"conversation_id": cid, "customer_id": customer, "channel": channel, "actor": actor,
                     "agent_id": agent, "type": kind, "stage": row_stage, "intent": intent, "confidence": confidence,
                     "frustration": frustration, "latency_ms": latency, "text": text, "created_at": now,
                     "meta": {"demo": True, **meta}})

    add("message", "visitor", intent="greet", confidence=0.97, frustration=0.0, text="hi")
    add("message", "bot", latency=rng.randint(60, 250), text="Hi, I'm Nora...")
    handoff = False
    for turn in range(rng.randint(1, 4)):
        now += dt.timedelta(seconds=rng.randint(5, 90))
        if rng.random() < 0.07:
            text = rng.choice(UNANSWERED)
            add("message", "visitor", intent="nlu_fallback", confidence=round(rng.uniform(0.2, 0.49), 2), frustration=0.0,
                text=text)
            add("fallback", "system", intent="nlu_fallback", text=text)
            add("message", "bot", latency=rng.randint(50, 200), text="Sorry, I didn't quite get that.")
            continue
        intent = _pick(rng, INTENTS)
        angry = frustrated_conv and turn > 0
        add("message", "visitor", intent=intent, confidence=round(rng.uniform(0.55, 0.99), 2),
            frustration=round(rng.uniform(0.55, 0.95), 2) if angry else round(rng.choice([0, 0, 0, 0.1, 0.3]), 2),
            text=rng.choice(ANGRY) if angry else intent.replace("_", " "))
        if intent in ("track_order", "cancel_order", "get_refund", "track_refund", "get_invoice", "change_shipping_address"):
            add("order_lookup", "bot", action=f"action_{intent}")
            if customer is None and rng.random() < 0.3:
                add("verification", "bot", ok=rng.random() < 0.8)
        add("message", "bot", latency=rng.randint(60, 400), text="(answer)")
        if angry or (intent == "complaint" and rng.random() < 0.5) or rng.random() < 0.05:
            handoff = True
            break
    if handoff:
        reason = "frustration" if frustrated_conv else _pick(rng, [("requested", 6), ("repeated_miss", 2)])
        now += dt.timedelta(seconds=rng.randint(2, 20))
        add("handoff_requested", "visitor", reason=reason)
        add("handoff_queued", "system")
        if rng.random() < 0.1:
            add("ticket", "visitor", action="action_create_ticket")
            return rows
        wait = rng.lognormvariate(4.0, 0.8)
        now += dt.timedelta(seconds=wait)
        agent = rng.choice(AGENTS)
        add("handoff_claimed", "agent", agent=agent, wait_seconds=round(wait, 1), reason=reason)
        first = rng.uniform(8, 90)
        now += dt.timedelta(seconds=first)
        add("message", "agent", agent=agent, text="Hi, I'm taking over.")
        handling = first + rng.uniform(90, 900)
        now += dt.timedelta(seconds=handling - first)
        add("handoff_handed_back", "agent", agent=agent, outcome="handed_back", wait_seconds=round(wait, 1),
            handling_seconds=round(handling, 1), first_response_seconds=round(first, 1))
        if rng.random() < 0.6:
            happy = not frustrated_conv or rng.random() < 0.5
            csat = rng.choice([4, 5, 5]) if happy else rng.choice([1, 2, 3])
            nps = rng.choice([8, 9, 10, 10]) if happy else rng.choice([0, 3, 5, 6, 7])
            add("rating", "visitor", agent=agent, csat=csat, nps=nps)
    elif rng.random() < 0.5:
        now += dt.timedelta(seconds=rng.randint(5, 60))
        add("message", "visitor", intent="thank", confidence=0.95, frustration=0.0, text="thanks")
    return rows


def rows(days: int, per_day: int, end: dt.datetime, seed: int = 7) -> Iterator[Dict[str, Any]]:
    rng = random.Random(seed)
    for d in range(days, 0, -1):
        day = (end - dt.timedelta(days=d)).replace(hour=0, minute=0, second=0, microsecond=0)
        weekend = day.weekday() >= 5
        for n in range(int(per_day * (0.7 if weekend else 1.0) * rng.uniform(0.8, 1.2))):
            start = day + dt.timedelta(seconds=rng.uniform(7 * 3600, 23 * 3600))
            yield from conversation(rng, f"{PREFIX}{day:%Y%m%d}-{n}-{rng.randrange(1 << 30):x}", start)


def fill(url: str, days: int = 21, per_day: int = 60, batch: int = 5000) -> int:
    """Add demo touchpoints ending now; returns how many rows."""
    upgrade(url)
    count, pending = 0, []
    with db.using(url) as engine:
        for item in rows(days, per_day, dt.datetime.utcnow()):
            pending.append(item)
            if len(pending) >= batch:
                with engine.begin() as conn:
                    rollup.insert(conn, pending)
                count, pending = count + len(pending), []
        if pending:
            with engine.begin() as conn:
                rollup.insert(conn, pending)
            count += len(pending)
    return count


def fill_if_empty(url: str, var_dir: Optional[Path] = None) -> int:
    """Demo conversations for a new install: only into an empty table, and not after someone removed them."""
    if var_dir is not None and (var_dir / REMOVED_MARKER).exists():
        return 0
    upgrade(url)
    with db.using(url) as engine, engine.connect() as conn:
        empty = conn.execute(sa.select(touchpoints.c.id).limit(1)).first() is None
    return fill(url) if empty else 0


def remove(url: str, var_dir: Optional[Path] = None) -> int:
    """Delete the demo conversations; with var_dir, remember it so the next start does not fill them in again."""
    with db.using(url) as engine, engine.begin() as conn:
        removed = rollup.delete(conn, touchpoints.c.conversation_id.like(f"{PREFIX}%"))
    if var_dir is not None:
        var_dir.mkdir(parents=True, exist_ok=True)
        (var_dir / REMOVED_MARKER).write_text("python -m bot demo-data adds them again\n", encoding="utf-8")
    return removed


def forget_removal(var_dir: Path) -> None:
    """Demo data asked for again (python -m bot demo-data): a later empty table may be filled again too."""
    (var_dir / REMOVED_MARKER).unlink(missing_ok=True)
