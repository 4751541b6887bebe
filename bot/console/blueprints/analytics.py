"""Analytics for admins: the dashboard page (server-rendered SVG charts), its figures as JSON, a CSV export
of touchpoints, and deleting a customer's data."""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from html import escape
from typing import Any, Dict, List, Tuple
from urllib.parse import quote

import sqlalchemy as sa
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot.console.charts import bar_chart, line_chart
from bot.console.sessions import requires
from bot.handoff.records import RecordsUnavailable
from bot.touchpoints.models import touchpoints as tp

bp = Blueprint("analytics")
DEFAULT_DAYS = 28
MAX_DAYS = 366
CSV_COLUMNS = [c.name for c in tp.columns]


def date_range(request: Request) -> Tuple[dt.datetime, dt.datetime]:
    """[from, to] as whole days (to inclusive); defaults to the last four weeks. A bad range is a 400
    (InvalidUsage, answered in JSON by the app's error handler)."""
    today = dt.datetime.utcnow().date()
    try:
        end = dt.date.fromisoformat(request.args.get("to") or today.isoformat())
        start = dt.date.fromisoformat(request.args.get("from") or (end - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    except ValueError:
        raise InvalidUsage("dates must look like 2026-11-26") from None
    if start > end or (end - start).days > MAX_DAYS:
        raise InvalidUsage(f"the range must run forward and span at most {MAX_DAYS} days")
    return dt.datetime.combine(start, dt.time()), dt.datetime.combine(end + dt.timedelta(days=1), dt.time())


@bp.get("/api/analytics")
@requires("admin")
async def figures(request: Request):
    start, end = date_range(request)
    data = await asyncio.to_thread(request.app.ctx.analytics.summary, start, end)
    return response.json(await with_low_ratings(request, data, start, end), default=str)


async def with_low_ratings(request: Request, data: Dict[str, Any], start: dt.datetime, end: dt.datetime) -> Dict[str, Any]:
    """The latest low ratings with what went wrong, from the handoff records (not the touchpoints' database)."""
    try:
        data["low_ratings"] = await asyncio.to_thread(request.app.ctx.records.low_ratings, start, end)
    except RecordsUnavailable:
        data["low_ratings"] = []
    return data


@bp.get("/api/analytics/touchpoints.csv")
@requires("admin")
async def export(request: Request):
    start, end = date_range(request)
    engine = request.app.ctx.analytics.engine
    resp = await request.respond(content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="touchpoints-{start:%Y%m%d}-{end:%Y%m%d}.csv"'})

    def page(after: int):
        query = (sa.select(tp).where(tp.c.created_at >= start, tp.c.created_at < end, tp.c.id > after)
                 .order_by(tp.c.id).limit(5000))
        with engine.connect() as conn:
            return conn.execute(query).all()

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    last = 0
    while True:
        rows = await asyncio.to_thread(page, last)
        for r in rows:
            values = [json.dumps(v) if isinstance(v, dict) else v for v in r]
            writer.writerow(["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v for v in values])  # no formulas
        await resp.send(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < 5000:
            break
        last = rows[-1].id
    await resp.eof()


@bp.delete("/api/customers/<customer_id:str>/data")
@requires("admin")
async def forget_customer(request: Request, customer_id: str):
    """Right to erasure: the customer's touchpoints, transcripts, tickets, ratings and notes."""
    removed = await asyncio.to_thread(request.app.ctx.forget, customer_id)
    return response.json({"customer_id": customer_id, "removed": removed})


@bp.get("/analytics")
@requires("admin", page=True)
async def page(request: Request):
    try:
        start, end = date_range(request)
    except InvalidUsage as err:
        return response.html(f"<p>{escape(str(err))}</p>", status=400)
    data = await asyncio.to_thread(request.app.ctx.analytics.summary, start, end)
    return response.html(render(await with_low_ratings(request, data, start, end), start, end))


def card(label: str, value: Any, unit: str = "") -> str:
    shown = "-" if value is None else (f"{value * 100:.1f}%" if unit == "%" else f"{value}{unit}")
    return f'<div class="card"><div class="v">{escape(shown)}</div><div class="k">{escape(label)}</div></div>'


def low_ratings_panel(rows: List[Dict[str, Any]]) -> str:
    """What visitors who rated the help low said went wrong, newest first, each linked to its conversation."""
    score = lambda v, of: "skipped" if v is None else f"{v}/{of}"  # noqa: E731
    lines = "".join(
        f'<tr><td>{escape(r["created_at"][:16].replace("T", " "))}</td><td>{score(r["csat"], 5)}</td>'
        f'<td>{score(r["nps"], 10)}</td><td>{escape(r["agent_id"] or "-")}</td><td>{escape(r["comment"])}</td>'
        f'<td><a href="/#/c/{escape(quote(r["conversation_id"], safe=""))}">open</a></td></tr>' for r in rows
    ) or '<tr><td colspan="6" class="muted">No low rating with a comment in this range.</td></tr>'
    return ('<section class="panel low-ratings"><h2>What went wrong: comments with low ratings</h2><table><thead><tr>'
            '<th>When (UTC)</th><th>Satisfaction</th><th>Recommend</th><th>Agent</th><th>Comment</th><th></th></tr>'
            f'</thead><tbody>{lines}</tbody></table></section>')


def render(d: Dict[str, Any], start: dt.datetime, end: dt.datetime) -> str:
    days = [x["day"] for x in d["daily"]]
    t, h, r = d["totals"], d["handoffs"], d["ratings"]
    last = (end - dt.timedelta(days=1)).date().isoformat()
    charts = [
        line_chart("Conversations per day", days, [("conversations", [x["conversations"] for x in d["daily"]]),
                                                   ("handed to a person", [x["handoffs"] for x in d["daily"]])]),
        line_chart("Containment and handoff rate", days, [("containment", [x["containment"] for x in d["daily"]]),
                                                          ("handoff rate", [x["handoff_rate"] for x in d["daily"]])],
                   percent=True),
        line_chart("Frustrated / not understood", days,
                   [("frustrated", [x["frustration_rate"] for x in d["daily"]]),
                    ("not understood", [x["fallback_rate"] for x in d["daily"]])], percent=True),
        line_chart("Queue wait, seconds (p50, p90)", [x["day"] for x in h["wait_by_day"]],
                   [("p50", [x["p50"] for x in h["wait_by_day"]]), ("p90", [x["p90"] for x in h["wait_by_day"]])]),
        bar_chart("Why a person was asked for", list(h["reasons"].items()), horizontal=True),
        bar_chart("CSAT (1-5)", list(r["csat_distribution"].items())),
        bar_chart("NPS answers (0-10)", list(r["nps_distribution"].items())),
        bar_chart("Journey: conversations reaching each stage", [(x["stage"], x["conversations"]) for x in d["funnel"]],
                  horizontal=True),
        bar_chart("Top intents", [(x["intent"], x["count"]) for x in d["top"]["intents"]], horizontal=True),
        bar_chart("Top questions the bot did not understand", [(x["text"], x["count"]) for x in d["top"]["unanswered"]],
                  horizontal=True),
    ]
    agents = "".join(
        f"<tr><td>{escape(a['agent_id'])}</td><td>{a['conversations']}</td><td>{a['handling_p50'] or '-'}</td>"
        f"<td>{a['first_response_p50'] or '-'}</td><td>{a['csat_average'] or '-'}</td><td>{a['ratings']}</td></tr>"
        for a in d["agents"]) or '<tr><td colspan="6" class="muted">No agent handled a conversation in this range.</td></tr>'
    cards = "".join([
        card("conversations", t["conversations"]), card("contained by the bot", t["containment"], "%"),
        card("handed to a person", t["handoff_rate"], "%"),
        card("queue wait p50 / p90 (s)", f"{h['wait_p50'] or '-'} / {h['wait_p90'] or '-'}"),
        card("first agent response p50 (s)", h["first_response_p50"]), card("handling time p50 (s)", h["handling_p50"]),
        card(f"CSAT ({r['csat_count']} ratings)", r["csat_average"]), card(f"NPS ({r['nps_count']} answers)", r["nps"]),
        card("frustrated messages", t["frustration_rate"], "%"), card("not understood", t["fallback_rate"], "%"),
    ])
    query = f"from={start.date().isoformat()}&to={last}"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Analytics · Support console</title>
<link rel="stylesheet" href="/static/console.css"></head><body>
<header class="top"><strong>Support console</strong><nav><a href="/#/queue">Queue</a><a href="/#/tickets">Tickets</a>
<a href="/#/admin">Admin</a><a href="/analytics">Analytics</a></nav><span class="spacer"></span></header>
<main class="analytics">
<form class="range" method="get" action="/analytics">
<label>From <input type="date" name="from" value="{start.date().isoformat()}"></label>
<label>To <input type="date" name="to" value="{last}"></label><button type="submit">Show</button>
<a href="/api/analytics/touchpoints.csv?{query}">Export touchpoints (CSV)</a>
<a href="/api/analytics?{query}">Figures (JSON)</a></form>
<section class="cards">{cards}</section>
<section class="charts">{''.join(f'<div class="panel">{c}</div>' for c in charts)}</section>
<section class="panel"><h2>Agents</h2><table><thead><tr><th>Agent</th><th>Conversations</th><th>Handling p50 (s)</th>
<th>First response p50 (s)</th><th>CSAT</th><th>Ratings</th></tr></thead><tbody>{agents}</tbody></table></section>
{low_ratings_panel(d.get("low_ratings") or [])}
<p class="muted">Queries took {escape(json.dumps(d["query_ms"]))} ms.</p>
</main></body></html>"""
