"""The figures behind the analytics dashboard for a date range [start, end) of whole days (UTC).

The daily series and the funnel read the per-conversation-day rollup (bot.touchpoints.rollup); the rest is
counted in SQL from the touchpoints (indexed by type and time); percentiles of the few handoff rows are taken
in Python, so the same queries run on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import functools
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import sqlalchemy as sa
import yaml

from bot.touchpoints.demo import PREFIX as DEMO_PREFIX
from bot.touchpoints.journey import neutral
from bot.touchpoints.models import STAGES
from bot.touchpoints.models import conversation_days as cd
from bot.touchpoints.models import touchpoints as tp

TOP = 10
EXPORT_COLUMNS = [c.name for c in tp.columns]  # the CSV export's header, in the order of its rows' values
EXPORT_PAGE = 5000  # touchpoints read at a time for the export, so a long range never sits in memory whole
LABELS_FILE = Path(__file__).resolve().parent / "labels.yml"


@functools.lru_cache(maxsize=1)
def labels() -> Dict[str, Dict[str, str]]:
    """The words people read for stored names (stages, handoff reasons, touchpoint types, intents)."""
    return yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8"))


def label(kind: str, name: Optional[str]) -> str:
    """What a person reads for a stored name (kind: stages, reasons, types, intents); underscores as spaces if unknown."""
    return labels().get(kind, {}).get(name or "") or (name or "").replace("_", " ")


def quantile(values: Sequence[float], q: float) -> Optional[float]:
    """The q-th percentile (0-100), interpolated between the nearest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """As shown on the dashboard: to a tenth."""
    value = quantile(values, q)
    return None if value is None else round(value, 1)


def _day(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]


def _range(start: dt.datetime, end: dt.datetime) -> sa.sql.ColumnElement:
    return sa.and_(tp.c.created_at >= start, tp.c.created_at < end)


def _days(start: dt.datetime, end: dt.datetime) -> sa.sql.ColumnElement:
    """The rollup's days in [start, end): whole days, a partial last day included."""
    last = end.date() if end.time() == dt.time() else end.date() + dt.timedelta(days=1)
    return sa.and_(cd.c.day >= start.date(), cd.c.day < last)


def _rate(part: float, whole: float) -> Optional[float]:
    return round(part / whole, 4) if whole else None


class Analytics:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        self.timings: Dict[str, float] = {}

    def _timed(self, name: str, fn: Callable[[Any], Any]) -> Any:
        started = time.perf_counter()
        with self.engine.connect() as conn:
            result = fn(conn)
        self.timings[name] = round((time.perf_counter() - started) * 1000, 1)
        return result

    def daily(self, start: dt.datetime, end: dt.datetime) -> List[Dict[str, Any]]:
        """Per day: conversations, handoffs, containment, visitor messages, frustration and fallback rates."""
        query = sa.select(
            cd.c.day, sa.func.sum(cd.c.visited).label("conversations"), sa.func.sum(cd.c.handed).label("handoffs"),
            sa.func.sum(cd.c.messages).label("messages"), sa.func.sum(cd.c.frustrated).label("frustrated"),
            sa.func.sum(cd.c.fallbacks).label("fallbacks"),
        ).where(_days(start, end)).group_by(cd.c.day).order_by(cd.c.day)
        rows = self._timed("daily", lambda c: c.execute(query).all())
        out = []
        for r in rows:
            conversations, handoffs = int(r.conversations or 0), int(r.handoffs or 0)
            out.append({"day": _day(r.day), "conversations": conversations, "handoffs": handoffs,
                        "containment": _rate(conversations - handoffs, conversations),
                        "handoff_rate": _rate(handoffs, conversations), "messages": int(r.messages or 0),
                        "frustrated": int(r.frustrated or 0), "fallbacks": int(r.fallbacks or 0),
                        "frustration_rate": _rate(r.frustrated or 0, r.messages or 0),
                        "fallback_rate": _rate(r.fallbacks or 0, r.messages or 0)})
        return out

    def _meta_rows(self, name: str, kind: str, start: dt.datetime, end: dt.datetime, *fields: str) -> List[Dict[str, Any]]:
        query = sa.select(tp.c.created_at, tp.c.agent_id, tp.c.conversation_id, tp.c.meta).where(
            _range(start, end), tp.c.type == kind)
        rows = self._timed(name, lambda c: c.execute(query).all())
        return [{"day": _day(r.created_at), "agent_id": r.agent_id, "demo": r.conversation_id.startswith(DEMO_PREFIX),
                 **{f: (r.meta or {}).get(f) for f in fields}} for r in rows]

    def handed_back(self, start: dt.datetime, end: dt.datetime) -> List[Dict[str, Any]]:
        """Conversations an agent gave back to the bot (not waits that expired): handling and per-agent figures."""
        return [r for r in self._meta_rows("handling", "handoff_handed_back", start, end, "handling_seconds",
                                           "first_response_seconds", "outcome") if r["outcome"] != "expired"]

    def handoffs(self, start: dt.datetime, end: dt.datetime, done: List[Dict[str, Any]]) -> Dict[str, Any]:
        reasons = Counter(r["reason"] or "unknown" for r in self._meta_rows("handoff_reasons", "handoff_requested",
                                                                             start, end, "reason"))
        claimed = self._meta_rows("queue_wait", "handoff_claimed", start, end, "wait_seconds")
        waits = [float(r["wait_seconds"]) for r in claimed if r["wait_seconds"] is not None]
        firsts = [float(r["first_response_seconds"]) for r in done if r["first_response_seconds"] is not None]
        handling = [float(r["handling_seconds"]) for r in done if r["handling_seconds"] is not None]
        by_day: Dict[str, List[float]] = {}
        for r in claimed:
            if r["wait_seconds"] is not None:
                by_day.setdefault(r["day"], []).append(float(r["wait_seconds"]))
        return {
            "reasons": dict(reasons.most_common()),
            "wait_p50": percentile(waits, 50), "wait_p90": percentile(waits, 90),
            "first_response_p50": percentile(firsts, 50), "first_response_p90": percentile(firsts, 90),
            "handling_p50": percentile(handling, 50), "handling_p90": percentile(handling, 90),
            "wait_by_day": [{"day": d, "p50": percentile(v, 50), "p90": percentile(v, 90)} for d, v in sorted(by_day.items())],
            "claimed": len(claimed), "handed_back": len(done),
        }

    def ratings(self, start: dt.datetime, end: dt.datetime) -> Dict[str, Any]:
        rows = self._meta_rows("ratings", "rating", start, end, "csat", "nps")
        csat = [int(r["csat"]) for r in rows if r["csat"] is not None]
        nps = [int(r["nps"]) for r in rows if r["nps"] is not None]
        promoters, detractors = sum(n >= 9 for n in nps), sum(n <= 6 for n in nps)
        return {"csat_average": round(sum(csat) / len(csat), 2) if csat else None, "csat_count": len(csat),
                "csat_distribution": {str(k): csat.count(k) for k in range(1, 6)},
                "nps": round(100 * (promoters - detractors) / len(nps), 1) if nps else None, "nps_count": len(nps),
                "nps_distribution": {str(k): nps.count(k) for k in range(0, 11)},
                "by_agent": _by_agent(rows)}

    def top(self, start: dt.datetime, end: dt.datetime) -> Dict[str, Any]:
        """The most asked intents (not small talk: journey.yml's `keep`) and the most common messages not
        understood, each with how many of them came from demo conversations."""
        demo = sa.func.sum(sa.case((tp.c.conversation_id.like(f"{DEMO_PREFIX}%"), 1), else_=0)).label("demo")
        intents = sa.select(tp.c.intent, sa.func.count().label("n"), demo).where(
            _range(start, end), tp.c.actor == "visitor", tp.c.type == "message", tp.c.intent.isnot(None),
            tp.c.intent.notin_(sorted(neutral()))).group_by(tp.c.intent).order_by(sa.desc("n")).limit(TOP)
        text = sa.func.lower(tp.c.text)
        unanswered = sa.select(text.label("text"), sa.func.count().label("n"), demo).where(
            _range(start, end), tp.c.type == "fallback").group_by(text).order_by(sa.desc("n")).limit(TOP)
        found = self._timed("top_intents", lambda c: c.execute(intents).all())
        return {"intents": [{"intent": r.intent, "count": r.n, "demo": int(r.demo or 0)} for r in found],
                "unanswered": [{"text": r.text, "count": r.n, "demo": int(r.demo or 0)}
                               for r in self._timed("top_unanswered", lambda c: c.execute(unanswered).all())]}

    def funnel(self, start: dt.datetime, end: dt.datetime) -> List[Dict[str, Any]]:
        """Per journey stage, the conversations whose visitor reached it or a later stage in the range (a
        conversation over several days once), so each stage holds at most as many as the one before; and
        how many touched the stage itself."""
        reached = sa.select(*[sa.func.max(cd.c[f"reached_{s}"]).label(s) for s in STAGES]).where(
            _days(start, end)).group_by(cd.c.conversation_id).subquery()
        at_or_after = lambda i: sa.func.sum(sa.case(  # noqa: E731
            (sum((reached.c[s] for s in STAGES[i + 1:]), reached.c[STAGES[i]]) > 0, 1), else_=0))
        query = sa.select(*[at_or_after(i).label(s) for i, s in enumerate(STAGES)],
                          *[sa.func.sum(reached.c[s]).label(f"touched_{s}") for s in STAGES])
        row = self._timed("funnel", lambda c: c.execute(query).one())._mapping
        return [{"stage": s, "conversations": int(row[s] or 0), "touched": int(row[f"touched_{s}"] or 0)}
                for s in STAGES]

    def demo(self, start: dt.datetime, end: dt.datetime) -> Dict[str, int]:
        """Demo conversations (bot.touchpoints.demo) in the range and in all, so the page can say so."""
        demo = cd.c.conversation_id.like(f"{DEMO_PREFIX}%")
        in_range = sa.case((_days(start, end), cd.c.conversation_id))
        query = sa.select(sa.func.count(sa.distinct(in_range)).label("in_range"),
                          sa.func.count(sa.distinct(cd.c.conversation_id)).label("total")).where(demo)
        row = self._timed("demo", lambda c: c.execute(query).one())
        return {"conversations": int(row.in_range or 0), "total": int(row.total or 0)}

    @staticmethod
    def agents(done: List[Dict[str, Any]], ratings: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Per agent, from the handed-back rows and the ratings' by_agent figures (already queried)."""
        done = [r for r in done if r["agent_id"]]
        out = []
        for agent in sorted({r["agent_id"] for r in done} | set(ratings)):
            mine = [r for r in done if r["agent_id"] == agent]
            handling = [float(r["handling_seconds"]) for r in mine if r["handling_seconds"] is not None]
            firsts = [float(r["first_response_seconds"]) for r in mine if r["first_response_seconds"] is not None]
            out.append({"agent_id": agent, "conversations": len(mine), "demo_conversations": sum(r["demo"] for r in mine),
                        "handling_p50": percentile(handling, 50),
                        "first_response_p50": percentile(firsts, 50), **ratings.get(agent, {"csat_average": None,
                                                                                              "ratings": 0})})
        return out

    def summary(self, start: dt.datetime, end: dt.datetime) -> Dict[str, Any]:
        self.timings = {}
        daily = self.daily(start, end)
        conversations = sum(d["conversations"] for d in daily)
        handoffs = sum(d["handoffs"] for d in daily)
        messages = sum(d["messages"] for d in daily)
        done, ratings = self.handed_back(start, end), self.ratings(start, end)
        return {
            "start": start.isoformat(), "end": end.isoformat(), "daily": daily,
            "totals": {"conversations": conversations, "handoffs": handoffs,
                       "containment": _rate(conversations - handoffs, conversations),
                       "handoff_rate": _rate(handoffs, conversations), "messages": messages,
                       "frustration_rate": _rate(sum(d["frustrated"] for d in daily), messages),
                       "fallback_rate": _rate(sum(d["fallbacks"] for d in daily), messages)},
            "handoffs": self.handoffs(start, end, done), "ratings": ratings, "top": self.top(start, end),
            "funnel": self.funnel(start, end), "agents": self.agents(done, ratings["by_agent"]),
            "demo": self.demo(start, end), "labels": labels(), "query_ms": self.timings,
        }

    def touchpoints_page(self, start: dt.datetime, end: dt.datetime, after: int, limit: int = EXPORT_PAGE) -> List[Any]:
        """The CSV export's next page: up to `limit` touchpoints in [start, end) with an id above `after`, by id
        (their values in EXPORT_COLUMNS' order; `.id` to ask for the page after)."""
        query = (sa.select(tp).where(tp.c.created_at >= start, tp.c.created_at < end, tp.c.id > after)
                 .order_by(tp.c.id).limit(limit))
        with self.engine.connect() as conn:
            return conn.execute(query).all()


def _by_agent(rows: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    for agent in {r["agent_id"] for r in rows if r["agent_id"]}:
        csat = [int(r["csat"]) for r in rows if r["agent_id"] == agent and r["csat"] is not None]
        out[agent] = {"csat_average": round(sum(csat) / len(csat), 2) if csat else None, "ratings": len(csat)}
    return out
