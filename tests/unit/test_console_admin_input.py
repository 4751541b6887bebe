"""What admins send and take away: a touchpoint export that no spreadsheet runs as a formula (whatever a visitor
typed), and user changes of the wrong type refused with a 400 that names the field, never a 500 or a silent guess."""
import asyncio
import csv
import datetime as dt
import io

import pytest

from bot.console.blueprints.analytics import spreadsheet_safe
from bot.touchpoints.models import touchpoints
from tests.unit.console_app import served

FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\t@cmd", "\r\n=HYPERLINK(\"x\")"]


@pytest.mark.parametrize("text", FORMULAS)
def test_every_cell_a_spreadsheet_would_run_is_neutralised(text):
    assert spreadsheet_safe(text) == "'" + text


def test_other_cells_are_left_as_they_are():
    assert [spreadsheet_safe(v) for v in ("where is my parcel?", " =1", "", 3, -1.5, None)] == [
        "where is my parcel?", " =1", "", 3, -1.5, None]


def test_the_csv_export_neutralises_leading_tab_and_carriage_return(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            admin = await console.admin()
            now = dt.datetime.utcnow()
            with console.ctx.analytics.engine.begin() as conn:
                conn.execute(touchpoints.insert(), [
                    {"conversation_id": f"csv-{i}", "actor": "visitor", "type": "message", "stage": "awareness",
                     "text": text, "created_at": now, "meta": {}} for i, text in enumerate(FORMULAS)])
            async with admin.http.get(f"{admin.base}/api/analytics/touchpoints.csv") as resp:
                assert resp.status == 200
                body = await resp.text()
            rows = {r["conversation_id"]: r["text"] for r in csv.DictReader(io.StringIO(body, newline=""))}
            assert [rows[f"csv-{i}"] for i in range(len(FORMULAS))] == ["'" + t for t in FORMULAS]
    asyncio.run(scenario())


WRONG_TYPES = [
    ({"teams": 5}, "teams"),
    ({"teams": {"orders": True}}, "teams"),
    ({"active": "no"}, "active"),
    ({"max_chats": True}, "max_chats"),
    ({"max_chats": 2.5}, "max_chats"),
    ({"name": ["Anna"]}, "name"),
    ({"role": ["admin"]}, "role"),
    ({"password": 12345678901}, "password"),
    ({"user_id": 1}, "user_id"),
    ({"self": 1}, "self"),
]


def test_user_changes_of_the_wrong_type_are_refused_with_400_and_change_nothing(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            admin = await console.admin()
            _, user = await console.user("agent", teams="orders")
            for change, field in WRONG_TYPES:
                status, answer = await admin.call("PATCH", f"/api/users/{user['id']}", change)
                assert (status, field in answer.get("error", "")) == (400, True), (change, status, answer)
            [now] = [u for u in (await admin.call("GET", "/api/users"))[1]["users"] if u["id"] == user["id"]]
            assert now == user  # unchanged
            assert (await admin.call("PATCH", f"/api/users/{user['id']}", {"max_chats": 5, "active": False}))[0] == 200
            status, changed = await admin.call("PATCH", f"/api/users/{user['id']}", {"teams": ["payments"]})
            assert (status, changed["user"]["teams"]) == (200, ["payments"])
    asyncio.run(scenario())


def test_new_users_of_the_wrong_type_are_refused_with_400(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            admin = await console.admin()
            good = {"username": "zed", "password": "zed-password-1"}
            for wrong, field in [({"username": ["zed"]}, "username"), ({"teams": 7}, "teams"), ({"name": {"a": 1}}, "name"),
                                 ({"max_chats": "many"}, "max_chats")]:
                status, answer = await admin.call("POST", "/api/users", {**good, **wrong})
                assert (status, field in answer.get("error", "")) == (400, True), (wrong, status, answer)
            assert not [u for u in (await admin.call("GET", "/api/users"))[1]["users"] if u["username"] == "zed"]
    asyncio.run(scenario())


def test_user_changes_with_a_body_that_is_not_an_object_are_refused(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            admin = await console.admin()
            _, user = await console.user("agent")
            status, answer = await admin.call("PATCH", f"/api/users/{user['id']}", ["active", False])
            assert status == 400 and "JSON object" in answer["error"]
    asyncio.run(scenario())
