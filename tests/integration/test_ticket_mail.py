"""Answering tickets by email through the real console process (started as `make run` starts it, with its
settings in the environment), real Redis and SQL, and a real SMTP server (aiosmtpd) that the test stops
and starts. Rasa is not needed for tickets, so it is not started."""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from bot.handoff.records import HandoffRecords
from bot.runner import Child, commands
from bot.settings import Settings
from tests.conftest import ADMIN_PASSWORD, free_port
from tests.integration.conftest import Chat, Console
from tests.unit.test_mail import Inbox

SENDER = "Northwind help <help@northwind.example>"


@contextmanager
def console_only(var_dir, redis_url, database_url, **smtp):
    """The console process alone, on a free port; yields what tests.integration.conftest.Console needs (.settings)."""
    settings = Settings(console_port=free_port(), rasa_port=free_port(), redis_url=redis_url, database_url=database_url,
                        console_admin_password=ADMIN_PASSWORD, demo_data=False, var_dir=var_dir, **smtp)
    name, args, env, health = commands(settings.with_secrets())["console"]
    child = Child(name, args, health, var_dir / "logs" / "console.log", env)
    child.start()
    try:
        child.wait_healthy(time.monotonic() + 90)
        yield SimpleNamespace(settings=settings)
    finally:
        child.stop()


def smtp_settings(port: int) -> dict:
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none", "smtp_from": SENDER, "smtp_timeout": 5.0}


@pytest.fixture
def new_ticket(database_url):
    records = HandoffRecords(database_url)

    def make(message="My parcel 204518 arrived with a broken lid.", email="anna@example.com"):
        return records.create_ticket(f"test-{uuid.uuid4().hex}", email, message, "no_agents")
    yield make
    records.close()


def test_an_answer_is_emailed_and_when_smtp_is_down_it_is_stored_with_the_error_and_sent_later(
        tmp_path, redis_url, database_url, new_ticket):
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    with console_only(tmp_path, redis_url, database_url, **smtp_settings(port)) as running:
        agent = Console(running)
        assert agent.call("GET", "/api/tickets")["mail"] == {"sending": True, "note": None}

        first = new_ticket()
        answer = agent.call("POST", f"/api/tickets/{first.id}/reply", {"reply": "A new lid is on its way."})
        assert answer["mail"]["sent"] is True and answer["mail"]["note"] == "Sent to anna@example.com."
        assert answer["ticket"]["status"] == "answered" and answer["ticket"]["sent_at"]
        [(_, rcpt, message)] = inbox.messages
        assert rcpt == ["anna@example.com"] and first.reference in message["Subject"]
        assert "A new lid is on its way." in message.get_content() and "> My parcel 204518" in message.get_content()

        smtp.stop()  # the mail server goes down
        second = new_ticket("The wrong size came, I need a 42.")
        answer = agent.call("POST", f"/api/tickets/{second.id}/reply", {"reply": "A 42 is on its way."})
        assert answer["mail"]["sent"] is False and "could not reach the mail server" in answer["mail"]["error"]
        assert answer["mail"]["note"].startswith("Stored, not sent: could not reach the mail server")
        stored = next(t for t in agent.call("GET", "/api/tickets?status=open")["tickets"] if t["id"] == second.id)
        assert (stored["reply"], stored["sent_at"]) == ("A 42 is on its way.", None)  # kept, and still open
        assert "could not reach the mail server" in stored["send_error"]

        smtp = Controller(inbox, hostname="127.0.0.1", port=port)  # back up: the agent sends it again
        smtp.start()
        answer = agent.call("POST", f"/api/tickets/{second.id}/send")
        assert answer["mail"]["sent"] is True and answer["ticket"]["status"] == "answered"
        assert answer["ticket"]["send_error"] is None and answer["ticket"]["sent_at"]
        assert len(inbox.messages) == 2 and "A 42 is on its way." in inbox.messages[1][2].get_content()
    smtp.stop()


def test_without_smtp_settings_the_console_says_replies_are_stored_not_sent(tmp_path, redis_url, database_url, new_ticket):
    with console_only(tmp_path, redis_url, database_url) as running:
        agent = Console(running)
        mail = agent.call("GET", "/api/tickets")["mail"]
        assert mail["sending"] is False and mail["note"].startswith("Replies are stored, not sent")
        ticket = new_ticket()
        answer = agent.call("POST", f"/api/tickets/{ticket.id}/reply", {"reply": "A new lid is on its way."})
        assert answer["mail"]["sent"] is False and answer["mail"]["note"].startswith("Replies are stored, not sent")
        assert answer["ticket"]["reply"] == "A new lid is on its way." and answer["ticket"]["status"] == "answered"
        refused = agent.call("POST", f"/api/tickets/{ticket.id}/send", expect=409)
        assert refused["error"].startswith("Replies are stored, not sent")


def test_a_visitor_who_writes_a_bad_address_and_the_message_at_once_is_asked_only_for_the_address(
        stack, nobody_on_shift):
    chat = Chat(stack)
    chat.texts("can I talk to a real person please")
    assert "email address" in chat.text("yes")
    asked = chat.text("anna@example.c my parcel 204518 arrived with a broken lid, please send a new one")
    assert "doesn't look like an email" in asked and "What would you like to tell" not in asked
    created = chat.text("anna@example.com")
    assert "reference T-" in created and "anna@example.com" in created
    reference = created.split("reference ")[1][:8]
    ticket = next(t for t in Console(stack).call("GET", "/api/tickets?status=open")["tickets"] if t["reference"] == reference)
    assert (ticket["email"], ticket["message"]) == (
        "anna@example.com", "my parcel 204518 arrived with a broken lid, please send a new one")
