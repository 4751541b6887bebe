"""Analytics for admins: the dashboard page (a static template; static/analytics.js draws it from the JSON
with the vendored Chart.js), its figures as JSON, a CSV export of touchpoints, and removing the demo data.
(Deleting a customer's data is in blueprints/privacy.py.)"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import logging
from pathlib import Path
from typing import Any, Dict, Iterable, List, Tuple

from sanic import Blueprint, response
from sanic.request import Request

from bot.console.errors import BadInput
from bot.console.sessions import requires
from bot.handoff.records import RecordsUnavailable
from bot.logsafe import loggable
from bot.touchpoints import demo
from bot.touchpoints.analytics import EXPORT_COLUMNS, EXPORT_PAGE

logger = logging.getLogger(__name__)
bp = Blueprint("analytics")
PAGE = Path(__file__).resolve().parent.parent / "templates" / "analytics.html"
DEFAULT_DAYS = 28
MAX_DAYS = 366
# what makes a spreadsheet read a cell as a formula (OWASP's list): a tab or carriage return first works too
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A cell no spreadsheet runs: text that starts like a formula gets a leading apostrophe, shown as text."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def date_range(request: Request) -> Tuple[dt.datetime, dt.datetime]:
    """[from, to] as whole days (to inclusive); defaults to the last four weeks. A bad range is a 400 (BadInput)."""
    today = dt.datetime.utcnow().date()
    try:
        end = dt.date.fromisoformat(request.args.get("to") or today.isoformat())
        start = dt.date.fromisoformat(request.args.get("from") or (end - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    except ValueError:
        raise BadInput("dates must look like 2026-11-26") from None
    if start > end or (end - start).days > MAX_DAYS:
        raise BadInput(f"the range must run forward and span at most {MAX_DAYS} days")
    return dt.datetime.combine(start, dt.time()), dt.datetime.combine(end + dt.timedelta(days=1), dt.time())


@bp.get("/api/analytics")
@requires("admin")
async def figures(request: Request) -> response.HTTPResponse:
    start, end = date_range(request)
    data = await asyncio.to_thread(request.app.ctx.analytics.summary, start, end)
    logger.info("analytics %s..%s: queries took %s ms", start.date(), end.date(), data["query_ms"])
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
async def export(request: Request) -> None:
    start, end = date_range(request)
    analytics = request.app.ctx.analytics
    resp = await request.respond(content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="touchpoints-{start:%Y%m%d}-{end:%Y%m%d}.csv"'})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    last = 0
    while True:
        rows = await asyncio.to_thread(analytics.touchpoints_page, start, end, last)
        writer.writerows(csv_row(r) for r in rows)
        await resp.send(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < EXPORT_PAGE:
            break
        last = rows[-1].id
    await resp.eof()


def csv_row(touchpoint: Iterable[Any]) -> List[Any]:
    """A touchpoint's cells: its JSON fields as JSON, every text a spreadsheet would run neutralised."""
    return [spreadsheet_safe(json.dumps(v) if isinstance(v, dict) else v) for v in touchpoint]


@bp.delete("/api/analytics/demo-data")
@requires("admin")
async def remove_demo_data(request: Request) -> response.HTTPResponse:
    """What `python -m bot demo-data --remove` does, one click away on the dashboard."""
    settings = request.app.ctx.settings
    removed = await asyncio.to_thread(demo.remove, settings.touchpoints_url, settings.var_dir)
    logger.info("%s removed %d demo touchpoints", loggable(request.ctx.user.username), removed)
    return response.json({"removed": removed})


@bp.get("/analytics")
@requires("admin", page=True, template="analytics.html")
async def page(_: Request) -> response.HTTPResponse:
    return response.html(PAGE.read_text(encoding="utf-8"))
