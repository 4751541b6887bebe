"""The analytics routes of a running console (Redis, SQL and the console; no model needed): the page is a
template that loads the vendored chart library, and an admin removes the demo data with one CSRF-protected
call that leaves real conversations alone."""
import datetime as dt
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bot.runner import Stack
from bot.settings import Settings
from bot.touchpoints import demo, rollup
from bot.touchpoints.models import touchpoints
from tests.conftest import ADMIN_PASSWORD, free_port
from tests.integration.conftest import Console, make_agent


class ConsoleOnly(Stack):
    """The stack without Rasa and the action server: all the analytics pages need."""

    def _children(self):
        return [c for c in super()._children() if c.name == "agent console"]


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory, redis_url):
    settings = Settings(console_port=free_port(), rasa_port=free_port(), actions_port=free_port(), redis_url=redis_url,
                        console_admin_password=ADMIN_PASSWORD, demo_data=False,
                        var_dir=Path(tmp_path_factory.mktemp("analytics-var")))
    with ConsoleOnly(settings) as running:
        yield running


def real_conversation(url: str, cid: str) -> None:
    now = dt.datetime.utcnow()
    row = {"conversation_id": cid, "customer_id": None, "channel": "widget", "actor": "visitor", "agent_id": None,
           "type": "message", "stage": "purchase", "intent": "track_order", "confidence": 0.9, "frustration": 0.0,
           "latency_ms": None, "text": "where is my order", "created_at": now, "meta": {}}
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        rollup.insert(conn, [row])
    engine.dispose()


def conversations_in(url: str):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {r[0] for r in conn.execute(sa.select(touchpoints.c.conversation_id).distinct())}
    engine.dispose()
    return found


def test_the_page_loads_the_vendored_chart_library_under_the_content_security_policy(console_stack):
    admin = Console(console_stack)
    page = admin.http.get(f"{admin.base}/analytics", timeout=30)
    assert page.status_code == 200 and "Queries took" not in page.text
    assert '<script src="/static/vendor/chart.umd.min.js">' in page.text and "<script>" not in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self' covers it
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    library = admin.http.get(f"{admin.base}/static/vendor/chart.umd.min.js", timeout=30)
    assert library.status_code == 200 and "Chart.js v4" in library.text[:200]


def test_an_admin_removes_the_demo_data_with_one_call_and_real_conversations_stay(console_stack):
    url = console_stack.settings.touchpoints_url
    assert demo.fill(url, days=3, per_day=6) > 0
    real_conversation(url, "real-remove-1")
    admin = Console(console_stack)
    before = admin.call("GET", "/api/analytics")["demo"]
    assert before["conversations"] == before["total"] > 0

    path = "/api/analytics/demo-data"
    assert admin.http.delete(f"{admin.base}{path}", timeout=30).status_code == 403  # no CSRF token: refused
    make_agent(console_stack, "tina").call("DELETE", path, expect=403)  # agents may not
    assert requests.delete(f"{admin.base}{path}", timeout=10).status_code == 401
    assert any(c.startswith(demo.PREFIX) for c in conversations_in(url))  # nothing went yet

    removed = admin.call("DELETE", path)["removed"]
    assert removed > 0
    assert conversations_in(url) == {"real-remove-1"}
    after = admin.call("GET", "/api/analytics")
    assert after["demo"] == {"conversations": 0, "total": 0} and after["totals"]["conversations"] == 1
    # and the next start does not fill them in again, even into an empty table
    assert demo.fill_if_empty(f"sqlite:///{console_stack.settings.var_dir / 'empty.db'}", console_stack.settings.var_dir) == 0


def test_an_empty_table_gets_demo_data_until_someone_removes_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'tp.db'}"
    assert demo.fill_if_empty(url, tmp_path) > 0 and demo.fill_if_empty(url, tmp_path) == 0  # once
    assert demo.remove(url, tmp_path) > 0
    assert demo.fill_if_empty(url, tmp_path) == 0  # removed on purpose: it stays removed
    demo.forget_removal(tmp_path)  # `python -m bot demo-data` asks for it again
    assert demo.fill_if_empty(url, tmp_path) > 0
