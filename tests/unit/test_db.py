"""One engine per database URL: every store on a URL shares it, and one store's close() does not close the
connections of another that still holds it (the last one does)."""
import pytest

from bot import db
from bot.console.users import Users
from bot.handoff.records import HandoffRecords
from bot.orders.sql import SqlOrders


def test_the_stores_on_one_url_share_one_engine_until_the_last_lets_go(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    records, users, shop = HandoffRecords(url), Users(url), SqlOrders(url)
    assert records.engine is users.engine is shop.engine is db.engine(url)
    records.close()
    users.close()
    assert db.engine(url) is shop.engine  # still held by the shop: not disposed under it
    shop.create_schema()
    assert shop.order("100001") is None
    shop.close()
    assert db.engine(url) is not shop.engine  # the last holder closed it; a new user gets a new engine
    db.release(db.engine(url))  # one that was never held: let go of it all the same


def test_other_options_get_an_engine_of_their_own_and_sqlite_waits_for_locks(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with db.using(url) as shared:
        other = db.hold(url, echo=False)
        assert other is not shared and db.hold(url, echo=False) is other
        db.release(other), db.release(other)
        with shared.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT * 1000


def test_dispose_all_forgets_every_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    held = db.hold(url)
    db.dispose_all()
    assert db.engine(url) is not held
    db.release(held)  # a holder closing after dispose_all: nothing left to do
    db.dispose_all()


def test_ensure_database_creates_a_missing_postgresql_database_once(tmp_path):
    import uuid

    import sqlalchemy as sa

    from bot.settings import targets_for_tests

    assert db.ensure_database(f"sqlite:///{tmp_path / 'x.db'}") is False  # SQLite makes its own file
    configured, _ = targets_for_tests()
    if not configured or not configured.startswith("postgresql"):
        pytest.skip("no PostgreSQL configured (TEST_DATABASE_URL)")
    name = f"shopbot_new_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(configured).set(database=name)
    try:
        assert db.ensure_database(str(url)) is True
        assert db.ensure_database(str(url)) is False  # there now: left alone
        probe = sa.create_engine(url, future=True)
        with probe.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar() == name
        probe.dispose()
    finally:
        server = sa.create_engine(sa.engine.make_url(configured).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        server.dispose()
