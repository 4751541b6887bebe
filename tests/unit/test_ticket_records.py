"""Tickets in SQL: a database made before tickets recorded their sending gets the new columns, and the
sending is recorded (sent, or why not, with the ticket open again until it is sent)."""
import sqlalchemy as sa

from bot.handoff.records import HandoffRecords

OLD_TICKETS = """CREATE TABLE handoff_tickets (
    id INTEGER PRIMARY KEY, reference VARCHAR(16) NOT NULL UNIQUE, conversation_id VARCHAR(255) NOT NULL,
    customer_id VARCHAR(32), email VARCHAR(254) NOT NULL, message TEXT NOT NULL, reason VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL, reply TEXT, replied_by VARCHAR(64), created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL)"""


def old_database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(sa.text(OLD_TICKETS))
        conn.execute(sa.text("INSERT INTO handoff_tickets VALUES (1, 'T-OLD001', 'c1', NULL, 'anna@example.com', "
                             "'My lid is broken', 'no_agents', 'open', NULL, NULL, '2026-11-30 10:00:00', "
                             "'2026-11-30 10:00:00')"))
    engine.dispose()
    return url


def test_an_existing_database_gets_the_sending_columns_and_keeps_its_tickets(tmp_path):
    url = old_database(tmp_path)
    records = HandoffRecords(url)
    try:
        [ticket] = records.tickets()
        assert (ticket.reference, ticket.sent_at, ticket.send_error) == ("T-OLD001", None, None)
        assert records.answer_ticket(ticket.id, "A new lid is on its way.", "anna").status == "answered"
        failed = records.record_sending(ticket.id, "could not reach the mail server")
        assert (failed.status, failed.send_error, failed.sent_at, failed.reply) == (
            "open", "could not reach the mail server", None, "A new lid is on its way.")  # the reply is kept
        sent = records.record_sending(ticket.id, None, status="answered")
        assert (sent.status, sent.send_error) == ("answered", None) and sent.sent_at is not None
        assert sent.as_dict()["sent_at"] == sent.sent_at.isoformat()
        again = records.answer_ticket(ticket.id, "A corrected answer.", "anna")
        assert again.sent_at is None  # a new reply has not been sent yet
    finally:
        records.close()
    HandoffRecords(url).close()  # a second start (the action server's) finds the columns there
