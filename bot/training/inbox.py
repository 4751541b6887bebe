"""The NLU inbox: what the bot misunderstood, grouped, masked, for a trainer to teach or ignore.

A visitor's typed message (touchpoints: actor visitor, type message; never an agent's or the bot's) is listed
when the bot was unsure (confidence under the threshold), fell back (nlu_fallback), the visitor went on to
ask for a person (escalated: a message up to the handoff request that the bot was not sure of, the request
itself aside) or rated the conversation low (low_rating: what the bot was unsure of with no request for a
person between it and the rating; ratings are asked after a hand-back, so these are the messages to the bot
after it, the ones before the handoff being "escalated"), or an agent marked it "bot misunderstood" (flagged).
What the visitor typed while a person had the conversation (queued or claimed, until handed back) was meant
for the person and is listed only when flagged. Messages are shown masked (bot.training.masking) and grouped
by their masked text, lowercased, punctuation and spaces collapsed: that key is what a review (nlu_reviews)
resolves, after which the group is not listed again. Flags keep only the masked text too.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Union

import sqlalchemy as sa

from bot import db
from bot.migrations import upgrade
from bot.touchpoints import models
from bot.touchpoints.models import touchpoints as tp
from bot.training.changes import TrainingError
from bot.training.masking import PLACEHOLDER, mask
from bot.training.nlu_data import check_intent

REASONS = ("unsure", "fallback", "escalated", "low_rating", "flagged")
ORDERS = ("newest", "frequent")
STATUSES = ("applied", "ignored")
FALLBACK_INTENT = "nlu_fallback"
HANDOFF_INTENTS = ("contact_human_agent", "contact_customer_service", "leave_message")  # asking for a person
HANDOFF_TYPES = ("handoff_requested", "handoff_queued")
AGENT_START = ("handoff_queued", "handoff_claimed")  # from here a person has the conversation (Rasa still parses)
AGENT_END = "handoff_handed_back"
SURE = 0.9  # at or above, a message in an escalated or low-rated conversation is taken as understood
LOW_CSAT, LOW_NPS = 2, 6
MAX_KEY = 255
MAX_LIMIT = 1000
CHUNK = 500
NON_WORD = re.compile(r"[\W_]+")

metadata = sa.MetaData()
reviews = sa.Table(
    "nlu_reviews", metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("intent", sa.String(64)),
    sa.Column("reviewed_by", sa.String(32), nullable=False),
    sa.Column("reviewed_at", sa.DateTime, nullable=False),
)
flags = sa.Table(
    "nlu_flags", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("touchpoint_id", sa.BigInteger().with_variant(sa.Integer, "sqlite")),
    sa.Column("text", sa.String(500), nullable=False),  # masked
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)


@lru_cache(maxsize=65536)
def group_key(masked: str) -> str:
    """The group of a masked message: lowercased, punctuation and spaces collapsed, placeholders kept apart
    from the words ("[order]" is not "order"), at most 255 characters."""
    words = [NON_WORD.sub(" ", part.lower()) for part in PLACEHOLDER.split(masked)]
    out = words[0]
    for placeholder, part in zip(PLACEHOLDER.findall(masked), words[1:], strict=True):
        out += f" {placeholder} {part}"
    return " ".join(out.split())[:MAX_KEY] or " ".join(masked.lower().split())[:MAX_KEY]


@dataclass
class InboxItem:
    key: str
    text: str  # masked, the group's latest message
    count: int
    last_at: dt.datetime
    intent: Optional[str]  # predicted for the latest
    confidence: Optional[float]
    reasons: List[str] = field(default_factory=list)
    conversation_id: str = ""  # the latest message's

    def public(self) -> Dict[str, Any]:
        return {"key": self.key, "text": self.text, "count": self.count, "last_at": self.last_at.isoformat(),
                "intent": self.intent, "confidence": self.confidence, "reasons": list(self.reasons),
                "conversation_id": self.conversation_id}


def in_order(groups: List[InboxItem], order: str) -> List[InboxItem]:
    """Sorted in place, newest first or most frequent first (the newest first among equals)."""
    if order == "frequent":
        groups.sort(key=lambda g: (g.count, g.last_at), reverse=True)
    else:
        groups.sort(key=lambda g: g.last_at, reverse=True)
    return groups


class Inbox:
    def __init__(self, touchpoints_url: str, sql_url: str, confidence: float = 0.6, days: int = 30) -> None:
        if not 0 < confidence <= 1 or days < 1:
            raise ValueError("the inbox needs a confidence in (0, 1] and at least one day")
        self.confidence, self.days = confidence, days
        self.touchpoints = db.hold(touchpoints_url)
        self.engine = db.hold(sql_url)
        models.upgrade(touchpoints_url)
        upgrade(sql_url, "training")

    def close(self) -> None:
        db.release(self.touchpoints)
        db.release(self.engine)

    def items(self, order: str = "newest", search: str = "", limit: int = 50,
              offset: int = 0) -> Tuple[List[InboxItem], int]:
        """One page of the unresolved groups, newest or most frequent first, and how many there are."""
        if order not in ORDERS:
            raise TrainingError(f"order is one of {', '.join(ORDERS)}")
        limit, offset = max(0, min(int(limit), MAX_LIMIT)), max(0, int(offset))
        groups = self._groups()
        wanted = search.strip().lower()
        if wanted:
            key = group_key(wanted)
            groups = [g for g in groups if wanted in g.text.lower() or (key and key in g.key)]
        in_order(groups, order)
        return groups[offset:offset + limit], len(groups)

    def all_items(self, order: str = "frequent") -> List[InboxItem]:
        """Every unresolved group (the CSV export)."""
        return in_order(self._groups(), order)

    def resolve(self, key: str, status: str, intent: Optional[str], by: str) -> None:
        """The group `key` decided (taught to `intent`, or ignored): not listed again."""
        if status not in STATUSES:
            raise TrainingError(f"status is one of {', '.join(STATUSES)}")
        if not key or len(key) > MAX_KEY:
            raise TrainingError(f"a key is 1 to {MAX_KEY} characters")
        if status == "applied" and not intent:
            raise TrainingError("an applied review names its intent")
        if not by or len(by) > 32:
            raise TrainingError("who reviewed is 1 to 32 characters")
        values = {"status": status, "intent": check_intent(intent) if intent else None, "reviewed_by": by,
                  "reviewed_at": dt.datetime.utcnow().replace(microsecond=0)}
        with self.engine.begin() as conn:
            updated = conn.execute(reviews.update().where(reviews.c.key == key).values(**values)).rowcount
            if not updated:
                conn.execute(reviews.insert().values(key=key, **values))

    def flag(self, conversation_id: str, text: Union[str, int], agent: str) -> Dict[str, Any]:
        """An agent marks a visitor message (its text, or its touchpoint id) "bot misunderstood"; listed even at
        high confidence. Only a visitor's message of that conversation is ever listed for it."""
        if not conversation_id or len(conversation_id) > 255 or not agent or len(agent) > 64:
            raise TrainingError("a flag needs the conversation id and the agent")
        touchpoint = self._visitor_message(conversation_id, text)
        raw = touchpoint.text if touchpoint is not None else text
        if not isinstance(raw, str) or not raw.strip():
            raise TrainingError("no visitor message of this conversation to flag")
        masked = mask(models.clean({"text": raw})["text"])[:models.MAX_TEXT]
        at = dt.datetime.utcnow().replace(microsecond=0)
        touchpoint_id = touchpoint.id if touchpoint is not None else None
        with self.engine.begin() as conn:
            flag_id = conn.execute(flags.insert().values(
                conversation_id=conversation_id, touchpoint_id=touchpoint_id, text=masked, agent_id=agent,
                created_at=at)).inserted_primary_key[0]
        return {"id": flag_id, "conversation_id": conversation_id, "touchpoint_id": touchpoint_id,
                "key": group_key(masked), "text": masked, "created_at": at.isoformat()}

    def _visitor_message(self, conversation_id: str, text: Union[str, int]) -> Any:
        query = sa.select(tp.c.id, tp.c.text).where(tp.c.conversation_id == conversation_id, tp.c.actor == "visitor",
                                                   tp.c.type == "message")
        if isinstance(text, int):
            query = query.where(tp.c.id == text)
        else:
            query = query.where(tp.c.text == models.clean({"text": text})["text"]).order_by(tp.c.id.desc()).limit(1)
        with self.touchpoints.connect() as conn:
            row = conn.execute(query).first()
        if row is None and isinstance(text, int):
            raise TrainingError(f"touchpoint {text} is no visitor message of this conversation")
        return row  # a text not (yet) written as a touchpoint is kept: it is listed once a visitor's row matches

    def _since(self) -> dt.datetime:
        return dt.datetime.utcnow() - dt.timedelta(days=self.days)

    def _groups(self) -> List[InboxItem]:
        resolved = self._resolved()
        groups: Dict[str, InboxItem] = {}
        flagged_ids, flagged_keys = self._flags()
        with self.touchpoints.connect() as conn:
            events = self._events(conn)
            flagged_cids = {cid for cid, _ in flagged_keys}
            for row in self._candidates(conn, flagged_ids, flagged_keys):
                text = row.text or ""
                if not text.strip() or text.startswith("/"):
                    continue
                reasons = self._reasons(row, events.get(row.conversation_id))
                if not reasons and row.id not in flagged_ids and row.conversation_id not in flagged_cids:
                    continue  # masked only when it may be listed
                masked = mask(text)
                key = group_key(masked)
                if row.id in flagged_ids or (row.conversation_id, key) in flagged_keys:
                    reasons.add("flagged")
                if reasons and key not in resolved:
                    _add(groups, key, masked, row, reasons)
        for item in groups.values():
            item.reasons = [r for r in REASONS if r in item.reasons]
        return list(groups.values())

    def _reasons(self, row: Any, events: Optional[_Events]) -> Set[str]:
        reasons: Set[str] = set()
        if events and events.with_agent(row.created_at):
            return reasons  # typed to a person, not the bot (and full of addresses and names): only a flag lists it
        if row.confidence is not None and row.confidence < self.confidence:
            reasons.add("unsure")
        if row.intent == FALLBACK_INTENT or (events and row.created_at in events.fallbacks):
            reasons.add("fallback")
        bot_unsure = row.confidence is not None and row.confidence < SURE and row.intent not in HANDOFF_INTENTS
        if events and bot_unsure:
            if any(at >= row.created_at for at in events.handoffs):
                reasons.add("escalated")
            if any(at >= row.created_at and not events.escalated_between(row.created_at, at)
                   for at in events.low_ratings):
                reasons.add("low_rating")  # with the bot, and no person asked for before the rating came
        return reasons

    def _resolved(self) -> Set[str]:
        with self.engine.connect() as conn:
            return {key for (key,) in conn.execute(sa.select(reviews.c.key))}

    def _flags(self) -> Tuple[Set[int], Set[Tuple[str, str]]]:
        query = sa.select(flags.c.conversation_id, flags.c.touchpoint_id, flags.c.text).where(
            flags.c.created_at >= self._since())
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return ({r.touchpoint_id for r in rows if r.touchpoint_id is not None},
                {(r.conversation_id, group_key(r.text)) for r in rows})

    def _events(self, conn: Any) -> Dict[str, _Events]:
        """Per conversation of the window: when a person was asked for, when it was rated low, its fallbacks."""
        query = sa.select(tp.c.conversation_id, tp.c.type, tp.c.created_at, tp.c.meta).where(
            tp.c.created_at >= self._since(), tp.c.type.in_((*HANDOFF_TYPES, *AGENT_START, AGENT_END, "rating", "fallback")))
        found: Dict[str, _Events] = {}
        for row in conn.execute(query):
            events = found.setdefault(row.conversation_id, _Events())
            if row.type == "fallback":
                events.fallbacks.add(row.created_at)
            elif row.type == "rating":
                if _low(row.meta):
                    events.low_ratings.append(row.created_at)
            elif row.type == AGENT_END:
                events.ends.append(row.created_at)
            else:
                if row.type in HANDOFF_TYPES:
                    events.handoffs.append(row.created_at)
                if row.type in AGENT_START:
                    events.starts.append(row.created_at)
        return found

    def _candidates(self, conn: Any, flagged_ids: Set[int], flagged_keys: Set[Tuple[str, str]]) -> Iterable[Any]:
        """The visitor messages of the window any reason may list (the bot short of sure, or fell back), and the
        flagged ones (by touchpoint id or conversation, in chunks)."""
        columns = [tp.c.id, tp.c.conversation_id, tp.c.text, tp.c.intent, tp.c.confidence, tp.c.created_at]
        typed = sa.and_(tp.c.actor == "visitor", tp.c.type == "message")
        query = sa.select(*columns).where(typed, tp.c.created_at >= self._since(), sa.or_(
            tp.c.confidence < max(SURE, self.confidence), tp.c.intent == FALLBACK_INTENT))
        seen: Set[int] = set()
        yield from _unseen(conn.execute(query), seen)
        ids, cids = sorted(flagged_ids), sorted({cid for cid, _ in flagged_keys})
        for chunk in [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]:
            yield from _unseen(conn.execute(sa.select(*columns).where(typed, tp.c.id.in_(chunk))), seen)
        for part in [cids[i:i + CHUNK] for i in range(0, len(cids), CHUNK)]:
            yield from _unseen(conn.execute(sa.select(*columns).where(typed, tp.c.conversation_id.in_(part))), seen)


@dataclass
class _Events:
    handoffs: List[dt.datetime] = field(default_factory=list)
    low_ratings: List[dt.datetime] = field(default_factory=list)
    fallbacks: Set[dt.datetime] = field(default_factory=set)
    starts: List[dt.datetime] = field(default_factory=list)  # queued or claimed: a person has it
    ends: List[dt.datetime] = field(default_factory=list)  # handed back to the bot

    def with_agent(self, at: dt.datetime) -> bool:
        """Whether a message at `at` came while a person had the conversation (queued or claimed, not yet
        handed back; to the conversation's end if never handed back)."""
        start = max((t for t in self.starts if t < at), default=None)
        return start is not None and not any(start <= t <= at for t in self.ends)

    def escalated_between(self, begin: dt.datetime, end: dt.datetime) -> bool:
        return any(begin <= t <= end for t in [*self.handoffs, *self.starts])


def _low(meta: Any) -> bool:
    meta = meta if isinstance(meta, dict) else {}
    csat, nps = meta.get("csat"), meta.get("nps")
    return (isinstance(csat, int) and csat <= LOW_CSAT) or (isinstance(nps, int) and nps <= LOW_NPS)


def _unseen(rows: Iterable[Any], seen: Set[int]) -> Iterable[Any]:
    for row in rows:
        if row.id not in seen:
            seen.add(row.id)
            yield row


def _add(groups: Dict[str, InboxItem], key: str, masked: str, row: Any, reasons: Set[str]) -> None:
    item = groups.get(key)
    if item is None:
        groups[key] = InboxItem(key, masked, 1, row.created_at, row.intent, row.confidence, list(reasons),
                                row.conversation_id)
        return
    item.count += 1
    item.reasons = list(set(item.reasons) | reasons)
    if row.created_at >= item.last_at:
        item.text, item.last_at, item.intent, item.confidence = masked, row.created_at, row.intent, row.confidence
        item.conversation_id = row.conversation_id
