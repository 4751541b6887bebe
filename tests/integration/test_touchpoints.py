"""Touchpoints against real SQL (SQLite, and PostgreSQL when TEST_DATABASE_URL is set): every event type
becomes a row with the right stage, the writer survives a database outage, and the dashboard's figures
match ones computed by hand."""
import asyncio
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from bot.handoff.queue import Handoff
from bot.touchpoints import rollup
from bot.touchpoints.analytics import Analytics
from bot.touchpoints.events import TouchpointMapper, error_row, handoff_row, ticket_row
from bot.touchpoints.models import touchpoints, upgrade
from bot.touchpoints.writer import TouchpointWriter


@pytest.fixture(params=["sqlite", "configured"])
def db_url(request, tmp_path, database_url):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tp.db'}"
    if database_url.startswith("sqlite"):
        pytest.skip("no PostgreSQL configured (TEST_DATABASE_URL)")
    return database_url


def rows_of(url, cid):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(
            touchpoints.select().where(touchpoints.c.conversation_id == cid).order_by(touchpoints.c.id))]
    engine.dispose()
    return found


def user(cid, text, intent, t, confidence=0.9, frustration=0.0, **meta):
    return {"event": "user", "sender_id": cid, "timestamp": t, "text": text, "input_channel": "widget", "metadata": meta,
            "parse_data": {"intent": {"name": intent, "confidence": confidence},
                           "intent_ranking": [{"name": intent}, {"name": "track_order"}],
                           "frustration": {"score": frustration, "signals": []}}}


def test_every_event_type_becomes_a_row_with_its_stage(db_url):
    cid = f"tp-{uuid.uuid4().hex}"
    mapper = TouchpointMapper()
    events = [
        {"event": "session_started", "sender_id": cid, "timestamp": 1},
        {"event": "slot", "sender_id": cid, "name": "failed_lookups", "value": 1, "timestamp": 1.1},  # replayed
        {"event": "action", "sender_id": cid, "name": "action_listen", "timestamp": 1.2},
        user(cid, "hi", "greet", 2),
        {"event": "bot", "sender_id": cid, "text": "Hello!", "timestamp": 2.25},
        user(cid, "blorp", "nlu_fallback", 3, confidence=0.3),
        user(cid, "where is order 204518", "track_order", 4),
        {"event": "action", "sender_id": cid, "name": "action_track_order", "timestamp": 4.1},
        {"event": "slot", "sender_id": cid, "name": "failed_lookups", "value": 2, "timestamp": 4.2},
        {"event": "slot", "sender_id": cid, "name": "verified_orders", "value": ["204518"], "timestamp": 4.3},
        {"event": "action", "sender_id": cid, "name": "action_apply_pending_change", "timestamp": 4.4},
        user(cid, "this is ridiculous", "complaint", 5, frustration=0.8),
        {"event": "action", "sender_id": cid, "name": "action_request_human", "timestamp": 5.1},
        {"event": "slot", "sender_id": cid, "name": "handoff_reason", "value": "frustration", "timestamp": 5.2},
        {"event": "pause", "sender_id": cid, "timestamp": 5.3},
        {"event": "bot", "sender_id": cid, "text": "Anna here", "timestamp": 6, "metadata": {"agent": {"id": "anna"}}},
        user(cid, "EXTERNAL: handoff_finished", "handoff_finished", 7),
        {"event": "slot", "sender_id": cid, "name": "csat", "value": "4", "timestamp": 8},
        {"event": "slot", "sender_id": cid, "name": "nps", "value": "9", "timestamp": 9},
        {"event": "action", "sender_id": cid, "name": "action_create_ticket", "timestamp": 10},
        {"event": "action", "sender_id": cid, "name": "action_session_start", "timestamp": 10.5},  # not a touchpoint
    ]
    rows = [r for e in events for r in mapper.rows(e)]
    handoff = Handoff(cid, reason="frustration", frustration=0.8, channel="widget", enqueued_at=5, claimed_at=20)
    ticket = type("T", (), {"conversation_id": cid, "customer_id": None, "reference": "T-1", "status": "answered"})()
    rows += [handoff_row(handoff, "handoff_claimed", agent_id="anna", wait_seconds=15),
             handoff_row(handoff, "handoff_transferred", agent_id="anna", to_team="payments"),
             handoff_row(handoff, "handoff_handed_back", agent_id="anna", handling_seconds=60),
             ticket_row(ticket, "anna"), error_row(cid, "widget", "no_answer")]
    writer = TouchpointWriter(db_url)
    writer.add(rows)
    assert writer.flush() == len(rows) and writer.dropped == 0
    stored = [(r["type"], r["actor"], r["stage"]) for r in rows_of(db_url, cid)]
    assert stored == [
        ("message", "visitor", "awareness"), ("message", "bot", "awareness"),
        ("message", "visitor", "awareness"), ("fallback", "system", "awareness"),  # not understood: no stage of its own
        ("message", "visitor", "purchase"), ("order_lookup", "bot", "purchase"), ("verification", "bot", "purchase"),
        ("verification", "bot", "purchase"), ("action", "bot", "purchase"),
        ("message", "visitor", "retention"), ("handoff_requested", "visitor", "retention"),
        ("handoff_queued", "system", "retention"), ("message", "agent", "retention"), ("intent", "visitor", "retention"),
        ("rating", "visitor", "advocacy"), ("ticket", "bot", "retention"),
        ("handoff_claimed", "agent", "retention"), ("handoff_transferred", "agent", "retention"),
        ("handoff_handed_back", "agent", "retention"), ("ticket", "agent", "retention"), ("error", "system", "retention"),
    ]
    stored = rows_of(db_url, cid)
    assert stored[1]["latency_ms"] == 250 and stored[9]["frustration"] == 0.8
    assert stored[10]["meta"] == {"reason": "frustration"} and stored[14]["meta"] == {"csat": 4, "nps": 9}
    assert stored[14]["agent_id"] == "anna" and stored[12]["agent_id"] == "anna"
    assert {r["type"] for r in stored} == set(touchpoints_types())


def test_the_greeting_at_session_start_is_already_the_signed_in_customers():
    from bot.identity import sign

    def session(cid, metadata):
        # as Rasa stores them: the metadata slot, then action_session_start's greeting before its own slots
        return [{"event": "slot", "sender_id": cid, "name": "session_started_metadata", "value": metadata, "timestamp": 1},
                {"event": "action", "sender_id": cid, "name": "action_session_start", "timestamp": 1.1},
                {"event": "bot", "sender_id": cid, "text": "Your order #100482 shipped", "timestamp": 1.2},
                {"event": "session_started", "sender_id": cid, "timestamp": 1.3}]

    mapper = TouchpointMapper("s3cret")
    signed = {"customer": {"id": "C00017", "signature": sign("C00017", "s3cret")}}
    forged = {"customer": {"id": "C00017", "signature": sign("C00017", "guess")}}
    greeting = [r for e in session("a", signed) for r in mapper.rows(e)]
    assert [(r["type"], r["customer_id"]) for r in greeting] == [("message", "C00017")]
    assert [r["customer_id"] for e in session("b", forged) for r in mapper.rows(e)] == [None]
    assert [r["customer_id"] for e in session("c", None) for r in mapper.rows(e)] == [None]


def touchpoints_types():
    from bot.touchpoints.models import TYPES
    return TYPES


def test_the_writer_keeps_rows_while_the_database_is_down(tmp_path):
    folder = tmp_path / "not-yet"
    url = f"sqlite:///{folder / 'tp.db'}"  # the folder does not exist: every write fails, as if the server were down
    writer = TouchpointWriter(url, spill=tmp_path / "pending.jsonl")
    mapper = TouchpointMapper()
    rows = [r for i in range(250) for r in mapper.rows(user("down-1", f"message {i}", "greet", 100 + i))]
    writer.add(rows)
    assert writer.flush() == 0 and len(writer.buffer) == 250 and writer.failures == 1
    asyncio.run(writer.close())  # shutting down while it is still down: kept on disk, not lost
    assert (tmp_path / "pending.jsonl").exists() and writer.dropped == 0

    folder.mkdir()  # the database is back
    upgrade.cache_clear()
    again = TouchpointWriter(url, spill=tmp_path / "pending.jsonl")
    assert len(again.buffer) == 250 and not (tmp_path / "pending.jsonl").exists()
    assert again.flush() == 250
    assert [r["text"] for r in rows_of(url, "down-1")] == [f"message {i}" for i in range(250)]


def test_a_full_buffer_counts_what_it_drops(tmp_path):
    writer = TouchpointWriter(f"sqlite:///{tmp_path / 'missing' / 'x.db'}", max_buffer=10)
    writer.add([{"n": i} for i in range(15)])
    assert len(writer.buffer) == 10 and writer.dropped == 5


def test_a_nul_an_unpaired_surrogate_or_an_over_long_value_is_cleaned_not_refused(db_url):
    """The widget accepts a NUL (PostgreSQL refuses it in text) and lone surrogates (no UTF-8 for them); an
    intent or customer id can outgrow its column (PostgreSQL refuses, SQLite would keep it whole)."""
    cid = f"tp-nul-{uuid.uuid4().hex}"
    mapper = TouchpointMapper()
    rows = mapper.rows(user(cid, "hello\x00 world \udc80", "i" * 100, 1, display_text="Yes\x00"))
    rows += [{**rows[0], "customer_id": "C" * 80, "text": "x" * 900, "meta": {"reason": "a\x00b", "list": ["\x00"]}}]
    writer = TouchpointWriter(db_url)
    writer.add(rows)
    assert writer.flush() == 2 and not writer.buffer
    first, second = rows_of(db_url, cid)
    assert (first["text"], first["intent"]) == ("Yes", "i" * 64)
    assert (second["customer_id"], second["text"], second["meta"]) == ("C" * 64, "x" * 500, {"reason": "ab", "list": [""]})
    writer.add(mapper.rows(user(cid, "hello\x00 world \udc80", "greet", 2)))
    assert writer.flush() == 1 and rows_of(db_url, cid)[2]["text"] == "hello world \ufffd"


def test_a_row_the_database_refuses_is_set_aside_and_the_rest_written(db_url):
    """One bad row used to fail its whole batch, retried whole forever: nothing was written any more."""
    cid = f"tp-bad-{uuid.uuid4().hex}"
    mapper = TouchpointMapper()
    rows = [r for i in range(7) for r in mapper.rows(user(cid, f"message {i}", "greet", 10 + i))]
    rows[3] = {**rows[3], "type": None}  # NOT NULL: refused by every database, as any row a check forgot would be
    writer = TouchpointWriter(db_url, batch=4)
    writer.add(rows)
    assert writer.flush() == 6 and not writer.buffer and writer.rejected == 1
    assert [r["text"] for r in rows_of(db_url, cid)] == [f"message {i}" for i in range(7) if i != 3]
    writer.add(mapper.rows(user(cid, "after", "greet", 20)))
    assert writer.flush() == 1 and writer.rejected == 1  # the bad row is not tried again


def fixture_rows(day: dt.datetime):
    """Two days of hand-made touchpoints; the expected figures are worked out in the test."""
    def r(cid, kind, actor, minutes, day_offset=0, **kw):
        meta = kw.pop("meta", {})
        return {"conversation_id": cid, "customer_id": None, "channel": "widget", "actor": actor,
                "agent_id": kw.pop("agent", None),
                "type": kind, "stage": kw.pop("stage", "retention"), "intent": kw.pop("intent", None),
                "confidence": None, "frustration": kw.pop("frustration", None), "latency_ms": None, "text": kw.pop("text", None),
                "created_at": day + dt.timedelta(days=day_offset, minutes=minutes), "meta": meta}
    return [
        # day 1: three conversations, one handed to a person
        r("a", "message", "visitor", 1, intent="track_order", stage="purchase", frustration=0.0),
        r("a", "message", "bot", 2),
        r("b", "message", "visitor", 3, intent="greet", stage="awareness", frustration=0.0),
        r("b", "message", "visitor", 4, intent="nlu_fallback", frustration=0.0, text="Blorp"),
        r("b", "fallback", "system", 4, text="Blorp"),
        r("c", "message", "visitor", 5, intent="track_order", stage="purchase", frustration=0.9),
        r("c", "handoff_requested", "visitor", 6, meta={"reason": "frustration"}),
        r("c", "handoff_claimed", "agent", 8, agent="anna", meta={"wait_seconds": 30}),
        r("c", "handoff_handed_back", "agent", 20, agent="anna",
          meta={"handling_seconds": 600, "first_response_seconds": 20, "outcome": "handed_back"}),
        r("c", "rating", "visitor", 21, agent="anna", stage="advocacy", meta={"csat": 5, "nps": 10}),
        # day 2: two conversations, both handed over; one rating
        r("d", "message", "visitor", 1, 1, intent="get_refund", frustration=0.6),
        r("d", "handoff_requested", "visitor", 2, 1, meta={"reason": "requested"}),
        r("d", "handoff_claimed", "agent", 3, 1, agent="ben", meta={"wait_seconds": 90}),
        r("d", "handoff_handed_back", "agent", 9, 1, agent="ben",
          meta={"handling_seconds": 300, "first_response_seconds": 40, "outcome": "handed_back"}),
        r("d", "rating", "visitor", 10, 1, agent="ben", stage="advocacy", meta={"csat": 2, "nps": 3}),
        r("e", "message", "visitor", 4, 1, intent="blorp", frustration=0.0, text="blorp"),
        r("e", "fallback", "system", 4, 1, text="blorp"),
        r("e", "handoff_requested", "visitor", 5, 1, meta={"reason": "repeated_miss"}),
        r("e", "handoff_claimed", "agent", 7, 1, agent="anna", meta={"wait_seconds": 60}),
    ]


def test_dashboard_figures_match_a_hand_computed_fixture(db_url):
    day = dt.datetime(2001, 3, 2)  # a range nobody else writes to (emptied before and after)
    engine = sa.create_engine(db_url)
    upgrade(db_url)
    in_range = sa.and_(touchpoints.c.created_at >= day, touchpoints.c.created_at < day + dt.timedelta(days=2))
    try:
        with engine.begin() as conn:
            rollup.delete(conn, in_range)
            rollup.insert(conn, fixture_rows(day))
        summary = Analytics(engine).summary(day, day + dt.timedelta(days=2))
    finally:
        with engine.begin() as conn:
            rollup.delete(conn, in_range)
        engine.dispose()
    d1, d2 = summary["daily"]
    assert (d1["conversations"], d1["handoffs"], d1["containment"], d1["messages"]) == (3, 1, round(2 / 3, 4), 4)
    assert (d1["frustration_rate"], d1["fallback_rate"]) == (0.25, 0.25)
    assert (d2["conversations"], d2["handoffs"], d2["containment"], d2["handoff_rate"]) == (2, 2, 0.0, 1.0)
    totals = summary["totals"]
    assert (totals["conversations"], totals["handoff_rate"], totals["frustration_rate"]) == (5, 0.6, round(2 / 6, 4))
    h = summary["handoffs"]
    assert h["reasons"] == {"frustration": 1, "requested": 1, "repeated_miss": 1}
    assert (h["wait_p50"], h["wait_p90"]) == (60.0, 84.0)  # of 30, 60, 90
    assert (h["handling_p50"], h["first_response_p50"]) == (450.0, 30.0)
    assert h["wait_by_day"] == [{"day": "2001-03-02", "p50": 30.0, "p90": 30.0}, {"day": "2001-03-03", "p50": 75.0, "p90": 87.0}]
    r = summary["ratings"]
    assert (r["csat_average"], r["csat_count"], r["csat_distribution"]["5"], r["csat_distribution"]["2"]) == (3.5, 2, 1, 1)
    assert r["nps"] == 0.0  # one promoter (10), one detractor (3)
    assert summary["top"]["unanswered"][0] == {"text": "blorp", "count": 2, "demo": 0}
    assert summary["top"]["intents"][0] == {"intent": "track_order", "count": 2, "demo": 0}
    funnel = {x["stage"]: (x["conversations"], x["touched"]) for x in summary["funnel"]}
    assert [funnel[s] for s in ("awareness", "consideration", "purchase", "retention", "advocacy")] == [
        (5, 1), (5, 0), (5, 2), (4, 4), (2, 2)]  # reached it or a later stage; touched it
    agents = {a["agent_id"]: a for a in summary["agents"]}
    assert (agents["anna"]["conversations"], agents["anna"]["csat_average"], agents["ben"]["handling_p50"]) == (1, 5.0, 300.0)


def test_the_journey_funnel_narrows_and_small_talk_moves_no_conversation_along(db_url):
    """Rows as the event broker writes them: a conversation counts at the furthest stage its visitor reached
    and at every stage before it; thanks, yes/no and "not understood" say nothing about where they are."""
    mapper = TouchpointMapper()
    t = 978307200.0  # 2001-01-01, a day nobody else writes to
    said = {"x": [("hi", "greet"), ("what does shipping cost", "faq_shipping_cost"), ("thanks", "thank")],
            "y": [("where is my order", "track_order"), ("thanks", "thank")],
            "z": [("blorp", "nlu_fallback")],
            "w": [("I want my money back", "get_refund")]}
    events = [user(f"fn-{cid}", text, intent, t + i) for cid, lines in said.items() for i, (text, intent) in enumerate(lines)]
    events += [{"event": "slot", "sender_id": "fn-w", "name": name, "value": value, "timestamp": t + 5}
               for name, value in (("csat", "5"), ("nps", "9"))]
    rows = [r for e in events for r in mapper.rows(e)]
    engine = sa.create_engine(db_url)
    upgrade(db_url)
    ours = touchpoints.c.conversation_id.like("fn-%")
    day = dt.datetime(2001, 1, 1)
    try:
        with engine.begin() as conn:
            rollup.delete(conn, ours)
            rollup.insert(conn, rows)
        funnel = Analytics(engine).funnel(day, day + dt.timedelta(days=1))
    finally:
        with engine.begin() as conn:
            rollup.delete(conn, ours)
        engine.dispose()
    assert [(x["stage"], x["conversations"]) for x in funnel] == [
        ("awareness", 4), ("consideration", 3), ("purchase", 2), ("retention", 1), ("advocacy", 1)]


def test_demo_conversations_are_counted_so_the_dashboard_can_say_so(db_url):
    import random

    from bot.touchpoints import demo
    day = dt.datetime(2001, 7, 1)
    rng = random.Random(5)
    rows = [r for i in range(6) for r in demo.conversation(rng, f"{demo.PREFIX}dc-{i}", day + dt.timedelta(hours=i))]
    rows += [{**rows[0], "conversation_id": "real-dc-1"}]
    engine = sa.create_engine(db_url)
    upgrade(db_url)
    ours = sa.or_(touchpoints.c.conversation_id.like(f"{demo.PREFIX}dc-%"), touchpoints.c.conversation_id == "real-dc-1")
    try:
        with engine.begin() as conn:
            rollup.delete(conn, ours)
            rollup.insert(conn, rows)
        analytics = Analytics(engine)
        in_range = analytics.demo(day, day + dt.timedelta(days=1))
        elsewhere = analytics.demo(day + dt.timedelta(days=3), day + dt.timedelta(days=4))
        agents = analytics.summary(day, day + dt.timedelta(days=1))["agents"]
    finally:
        with engine.begin() as conn:
            rollup.delete(conn, ours)
        engine.dispose()
    assert in_range["conversations"] == 6 and in_range["total"] >= 6
    assert elsewhere["conversations"] == 0 and elsewhere["total"] == in_range["total"]
    assert agents and all(a["demo_conversations"] == a["conversations"] > 0 for a in agents)  # seed 5: 3 handoffs


def _rollup_of(conn, cids):
    from bot.touchpoints.models import conversation_days as cd
    return sorted(tuple(r) for r in conn.execute(cd.select().where(cd.c.conversation_id.in_(cids))))


def _write_in_batches(url, rows, size):
    engine = sa.create_engine(url)
    for i in range(0, len(rows), size):
        with engine.begin() as conn:
            rollup.insert(conn, rows[i:i + size])
    engine.dispose()


def _demo_rows(prefix, n, seed):
    import random

    from bot.touchpoints import demo
    rng = random.Random(seed)
    start = dt.datetime(2001, 5, 1, 23, 50)  # conversations that run past midnight span two days
    out = []
    for i in range(n):
        out += demo.conversation(rng, f"{prefix}-{i}", start + dt.timedelta(minutes=i))
    return sorted(out, key=lambda r: r["created_at"])


def test_the_rollup_matches_a_rebuild_after_batches_deletes_and_racing_writers(db_url):
    """The rollup is kept per batch; whatever order rows arrive in, by however many writers, and whatever is
    deleted, it must equal one computed from scratch."""
    import multiprocessing

    upgrade(db_url)
    prefix = f"ru-{uuid.uuid4().hex[:8]}"
    rows = _demo_rows(prefix, 40, seed=3)
    cids = sorted({r["conversation_id"] for r in rows})
    halves = rows[0::2], rows[1::2]  # both writers write parts of the same conversations at once
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=_write_in_batches, args=(db_url, half, 7)) for half in halves]
    for w in writers:
        w.start()
    for w in writers:
        w.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            kept = _rollup_of(conn, cids)
            rollup.refresh(conn, cids)
            rebuilt = _rollup_of(conn, cids)
            assert kept == rebuilt and len({r[0] for r in kept}) == 2  # two days
            assert sum(r[2] for r in kept) >= len(cids)  # every conversation visited at least once
            # a customer forgotten: their conversations vanish from the rollup; the rest stay as they were
            gone = cids[:5]
            rollup.delete(conn, touchpoints.c.conversation_id.in_(gone))
            after = _rollup_of(conn, cids)
            assert after == [r for r in kept if r[1] not in gone]
            # and a retention cut at midnight removes the first day only
            midnight = dt.datetime(2001, 5, 2)
            rollup.delete(conn, sa.and_(touchpoints.c.conversation_id.in_(cids), touchpoints.c.created_at < midnight))
            assert {r[0] for r in _rollup_of(conn, cids)} == {dt.date(2001, 5, 2)}
            assert _rollup_of(conn, cids) == [r for r in after if r[0] == dt.date(2001, 5, 2)]
    finally:
        with engine.begin() as conn:
            rollup.delete(conn, touchpoints.c.conversation_id.in_(cids))
        engine.dispose()
