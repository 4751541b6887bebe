"""The handoff's SQL records on a real SQLite file: a rating keeps its comment, and an older database gets the column."""
import datetime as dt

import sqlalchemy as sa

from bot.handoff.records import HandoffRecords


def test_a_database_from_before_rating_comments_gets_the_column_and_keeps_its_ratings(tmp_path):
    url = f"sqlite:///{tmp_path}/records.db"
    old = sa.create_engine(url)
    with old.begin() as conn:  # handoff_ratings as the previous version made it
        conn.execute(sa.text("CREATE TABLE handoff_ratings (conversation_id VARCHAR(255) PRIMARY KEY, csat INTEGER,"
                             " nps INTEGER, agent_id VARCHAR(64), created_at DATETIME NOT NULL)"))
        conn.execute(sa.text("INSERT INTO handoff_ratings VALUES ('old', 5, 10, 'anna', '2026-11-30 10:00:00')"))
    old.dispose()
    records = HandoffRecords(url)
    try:
        assert records.rating("old")["comment"] is None and records.rating("old")["csat"] == 5
        assert records.save_rating("new", 1, 3, "anna", "Nobody read what I wrote")
        assert records.rating("new")["comment"] == "Nobody read what I wrote"
    finally:
        records.close()
    again = HandoffRecords(url)  # a second start adds nothing twice
    again.close()


def test_low_ratings_are_the_commented_ones_in_range_newest_first(tmp_path):
    records = HandoffRecords(f"sqlite:///{tmp_path}/records.db")
    try:
        records.save_rating("a", 2, 4, "anna", "too slow")
        records.save_rating("b", 5, 10, "anna")
        records.save_rating("c", None, 0, "", "the bot kept asking for my order number")
        now = dt.datetime.utcnow()
        found = records.low_ratings(now - dt.timedelta(days=1), now + dt.timedelta(days=1))
        assert sorted(r["conversation_id"] for r in found) == ["a", "c"]
        assert {r["comment"] for r in found} == {"too slow", "the bot kept asking for my order number"}
        assert records.low_ratings(now + dt.timedelta(days=1), now + dt.timedelta(days=2)) == []
    finally:
        records.close()
