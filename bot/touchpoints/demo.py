"""Demo touchpoints: a few weeks of believable conversations, so a new install shows a living dashboard
(and the benchmark has a million rows to query). Demo conversations are named demo-* and can be removed;
once removed they do not come back by themselves (a marker file in the var folder says so)."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar

import sqlalchemy as sa

from bot import db
from bot.touchpoints import rollup
from bot.touchpoints.events import ConversationState, row
from bot.touchpoints.models import touchpoints, upgrade

T = TypeVar("T")
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


def _pick(rng: random.Random, weighted: Sequence[Tuple[T, float]]) -> T:
    return rng.choices([x for x, _ in weighted], weights=[w for _, w in weighted])[0]


ORDER_INTENTS = ("track_order", "cancel_order", "get_refund", "track_refund", "get_invoice", "change_shipping_address")


class _Conversation:
    """One demo conversation's rows, built by bot.touchpoints.events.row as the broker builds real ones (the same
    columns and journey-stage rule), at a clock that moves on as the conversation does."""

    def __init__(self, rng: random.Random, cid: str, start: dt.datetime) -> None:
        self.rng, self.cid, self.now = rng, cid, start
        customer = f"C{rng.randint(1, 400):05d}" if rng.random() < 0.55 else None
        self.state = ConversationState(customer_id=customer, channel=_pick(rng, CHANNELS), stage="awareness")
        self.frustrated = rng.random() < 0.12
        self.rows: List[Dict[str, Any]] = []

    def add(self, kind: str, actor: str, *, latency: Optional[int] = None, agent: Optional[str] = None,
            **fields: Any) -> None:
        self.rows.append(row(self.cid, kind, actor, self.state, self.now, latency_ms=latency, agent_id=agent,
                             demo=True, **fields))

    def wait(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    def turns(self) -> bool:
        """The visitor's questions and the bot's answers; True if the visitor ends up asking for a person."""
        rng = self.rng
        for turn in range(rng.randint(1, 4)):
            self.wait(rng.randint(5, 90))
            if rng.random() < 0.07:
                self.unanswered()
                continue
            intent = _pick(rng, INTENTS)
            angry = self.frustrated and turn > 0
            self.add("message", "visitor", intent=intent, confidence=round(rng.uniform(0.55, 0.99), 2),
                     frustration=round(rng.uniform(0.55, 0.95), 2) if angry else round(rng.choice([0, 0, 0, 0.1, 0.3]), 2),
                     text=rng.choice(ANGRY) if angry else intent.replace("_", " "))
            if intent in ORDER_INTENTS:
                self.add("order_lookup", "bot", action=f"action_{intent}")
                if self.state.customer_id is None and rng.random() < 0.3:
                    self.add("verification", "bot", ok=rng.random() < 0.8)
            self.add("message", "bot", latency=rng.randint(60, 400), text="(answer)")
            if angry or (intent == "complaint" and rng.random() < 0.5) or rng.random() < 0.05:
                return True
        return False

    def unanswered(self) -> None:
        text = self.rng.choice(UNANSWERED)
        self.add("message", "visitor", intent="nlu_fallback", confidence=round(self.rng.uniform(0.2, 0.49), 2),
                 frustration=0.0, text=text)
        self.add("fallback", "system", intent="nlu_fallback", text=text)
        self.add("message", "bot", latency=self.rng.randint(50, 200), text="Sorry, I didn't quite get that.")

    def handoff(self) -> None:
        """Queued for a person: a ticket now and then, else an agent's chat and, more often than not, a rating."""
        rng = self.rng
        reason = "frustration" if self.frustrated else _pick(rng, [("requested", 6), ("repeated_miss", 2)])
        self.wait(rng.randint(2, 20))
        self.add("handoff_requested", "visitor", reason=reason)
        self.add("handoff_queued", "system")
        if rng.random() < 0.1:
            self.add("ticket", "visitor", action="action_create_ticket")
            return
        wait = rng.lognormvariate(4.0, 0.8)
        self.wait(wait)
        agent = rng.choice(AGENTS)
        self.add("handoff_claimed", "agent", agent=agent, wait_seconds=round(wait, 1), reason=reason)
        first = rng.uniform(8, 90)
        self.wait(first)
        self.add("message", "agent", agent=agent, text="Hi, I'm taking over.")
        handling = first + rng.uniform(90, 900)
        self.wait(handling - first)
        self.add("handoff_handed_back", "agent", agent=agent, outcome="handed_back", wait_seconds=round(wait, 1),
                 handling_seconds=round(handling, 1), first_response_seconds=round(first, 1))
        if rng.random() < 0.6:
            self.rating(agent)

    def rating(self, agent: str) -> None:
        happy = not self.frustrated or self.rng.random() < 0.5
        csat = self.rng.choice([4, 5, 5]) if happy else self.rng.choice([1, 2, 3])
        nps = self.rng.choice([8, 9, 10, 10]) if happy else self.rng.choice([0, 3, 5, 6, 7])
        self.add("rating", "visitor", agent=agent, csat=csat, nps=nps)


def conversation(rng: random.Random, cid: str, start: dt.datetime) -> List[Dict[str, Any]]:
    """A believable conversation: a greeting, a few questions, and sometimes a person, a ticket or a rating."""
    chat = _Conversation(rng, cid, start)
    chat.add("message", "visitor", intent="greet", confidence=0.97, frustration=0.0, text="hi")
    chat.add("message", "bot", latency=rng.randint(60, 250), text="Hi, I'm Nora...")
    if chat.turns():
        chat.handoff()
    elif rng.random() < 0.5:
        chat.wait(rng.randint(5, 60))
        chat.add("message", "visitor", intent="thank", confidence=0.95, frustration=0.0, text="thanks")
    return chat.rows


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
