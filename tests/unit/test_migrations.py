"""Every table we own is migrated by Alembic, and a database made before (by create_all, with the columns that
the old start-up code added itself, and no version for these tables) or at an earlier revision is brought to
the current one in place, its rows kept. On SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set (each
test in a schema of its own there)."""
import datetime as dt
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot import db, migrations
from bot.console.users import metadata as users_metadata
from bot.handoff.agent_notes import DEFAULT_CANNED
from bot.handoff.records import HandoffRecords
from bot.handoff.tables import canned, notes, ratings, tickets
from bot.orders.sql import Base, CustomerRow, ItemRow, OrderRow, SqlOrders
from bot.settings import targets_for_tests
from bot.touchpoints import models
from bot.touchpoints.privacy import erasures
from bot.touchpoints.privacy import metadata as privacy_metadata

WHEN = dt.datetime(2026, 11, 30, 10, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    configured, _ = targets_for_tests()
    if not configured or not configured.startswith("postgresql"):
        pytest.skip("no PostgreSQL configured (TEST_DATABASE_URL)")
    schema = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(configured, future=True)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{configured}{'&' if '?' in configured else '?'}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def first_release_tables() -> sa.MetaData:
    """The handoff tables as first released: tickets before sent_at/send_error, ratings before comment."""
    old = sa.MetaData()
    for table in (tickets, ratings):
        gone = {"sent_at", "send_error", "comment"}
        sa.Table(table.name, old, *[c.copy() for c in table.columns if c.name not in gone])
    for table in (notes, canned):
        table.to_metadata(old)
    return old


def build_before_migrations(url: str, first_release: bool) -> None:
    """A database as the code before migrations left it (create_all; the handoff columns added since or not)."""
    engine = sa.create_engine(url, future=True)
    handoff = first_release_tables() if first_release else tickets.metadata
    for metadata in (users_metadata, handoff, privacy_metadata, Base.metadata):
        metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(users_metadata.tables["console_users"].insert().values(
            username="anna", name="Anna", password_hash="x", role="agent", teams="", max_chats=3, active=True,
            created_at=WHEN))
        conn.execute(sa.text("INSERT INTO handoff_tickets (reference, conversation_id, email, message, reason, status, "
                             "created_at, updated_at) VALUES ('T-OLD001', 'c1', 'a@example.com', 'My lid is broken', "
                             "'no_agents', 'open', :when, :when)"), {"when": WHEN})
        conn.execute(sa.text("INSERT INTO handoff_ratings (conversation_id, csat, nps, agent_id, created_at) "
                             "VALUES ('c1', 5, 10, 'anna', :when)"), {"when": WHEN})
        conn.execute(notes.insert().values(conversation_id="c1", author="anna", text="called back", created_at=WHEN))
        conn.execute(canned.insert().values(title="Mine", text="An admin's own answer"))  # the defaults were deleted
        conn.execute(erasures.insert().values(customer_id="C00001", conversation_id="c1", requested_at=WHEN))
    with sa.orm.Session(engine) as session, session.begin():
        session.add(CustomerRow(id="C00001", email="a@example.com", name="Anna", created_at=WHEN))
        session.add(OrderRow(number="100001", customer_id="C00001", email="a@example.com", status="paid", placed_at=WHEN,
                             total=Decimal("12.90"), currency="EUR", ship_name="Anna", ship_street="Am Markt 1",
                             ship_postcode="10115", ship_city="Berlin", ship_country="DE"))
        session.add(ItemRow(order_number="100001", sku="NW-1006", name="Mug", quantity=1, unit_price=Decimal("8.00")))
    engine.dispose()


def upgrade_everything(url: str) -> None:
    for branch in migrations.BRANCHES:
        migrations.upgrade.__wrapped__(url, branch)  # not the per-process cache: each test has a new database


def assert_rows_kept(url: str) -> None:
    records = HandoffRecords(url)
    shop = SqlOrders(url)
    try:
        [ticket] = records.tickets()
        assert (ticket.reference, ticket.message, ticket.sent_at, ticket.send_error) == ("T-OLD001", "My lid is broken",
                                                                                        None, None)
        assert records.rating("c1")["csat"] == 5 and records.rating("c1")["comment"] is None
        assert [n["text"] for n in records.notes("c1")] == ["called back"]
        assert [c["title"] for c in records.canned()] == ["Mine"]  # not seeded again
        order = shop.order("100001")
        assert order.total == Decimal("12.90") and order.items[0].unit_price == Decimal("8.00")
        with shop.engine.connect() as conn:
            assert conn.execute(sa.select(erasures.c.customer_id)).scalars().all() == ["C00001"]
            assert conn.execute(sa.text("SELECT username FROM console_users")).scalars().all() == ["anna"]
    finally:
        records.close()
        shop.close()


def heads(url: str, version_table: str) -> set:
    with db.using(url) as engine, engine.connect() as conn:
        versions = sa.table(version_table, sa.column("version_num"))
        return set(conn.execute(sa.select(versions.c.version_num)).scalars())


@pytest.mark.parametrize("first_release", [True, False], ids=["first-release", "last-before-migrations"])
def test_a_database_made_before_migrations_is_upgraded_in_place(url, first_release):
    build_before_migrations(url, first_release)
    upgrade_everything(url)
    assert heads(url, migrations.VERSION_TABLE) == {"users_0001", "handoff_0003", "privacy_0001", "shop_0001",
                                                 "training_0001", "models_0002"}
    assert_rows_kept(url)
    upgrade_everything(url)  # the next start finds nothing to do
    assert_rows_kept(url)
    records = HandoffRecords(url)
    try:  # the columns added since take values
        assert records.save_rating("c2", 1, 2, "anna", "slow") and records.rating("c2")["comment"] == "slow"
        assert records.record_sending(records.tickets()[0].id, "no mail server").send_error == "no mail server"
    finally:
        records.close()


def test_a_database_at_an_earlier_revision_is_upgraded_and_keeps_its_rows(url):
    db.migrate(url, migrations.SCRIPTS, "handoff_0002")  # ratings have no comment yet
    with db.using(url) as engine, engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO handoff_ratings (conversation_id, csat, nps, agent_id, created_at) "
                             "VALUES ('c1', 4, 9, 'ben', :when)"), {"when": WHEN})
    migrations.upgrade.__wrapped__(url, "handoff")
    records = HandoffRecords(url)
    try:
        assert (records.rating("c1")["csat"], records.rating("c1")["comment"]) == (4, None)
        assert [c["title"] for c in records.canned()] == sorted(t for t, _ in DEFAULT_CANNED)  # a new table is seeded
    finally:
        records.close()
    assert heads(url, migrations.VERSION_TABLE) == {"handoff_0003"}


def test_touchpoints_at_an_earlier_revision_are_upgraded_and_kept(url):
    db.migrate(url, models.MIGRATIONS, "0003")  # before the per-day rollup
    row = {"conversation_id": "c1", "channel": "widget", "actor": "visitor", "type": "message", "stage": "awareness",
           "created_at": WHEN, "meta": {}, "text": "hi"}
    with db.using(url) as engine, engine.begin() as conn:
        conn.execute(models.touchpoints.insert(), [row, {**row, "text": "hello again"}])
    models.upgrade.__wrapped__(url)
    with db.using(url) as engine, engine.connect() as conn:
        assert conn.execute(sa.select(models.touchpoints.c.text).order_by(models.touchpoints.c.id)).scalars().all() == [
            "hi", "hello again"]
        assert conn.execute(sa.select(models.conversation_days.c.messages)).scalars().all() == [2]  # rebuilt from them
    assert heads(url, "touchpoints_alembic_version") == {"0004"}
