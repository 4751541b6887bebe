"""The SMTP wrapper against a real SMTP server (aiosmtpd) on a free port: what arrives, and every way it fails."""
import asyncio
import datetime as dt
import email
import email.policy
import socket
import time
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from bot.handoff.mail import Mailer, MailUnavailable, one_line
from bot.settings import Settings, SettingsError
from tests.conftest import free_port

SENDER = "Northwind help <help@northwind.example>"


class Inbox:
    """An aiosmtpd handler that keeps what it is given (and can refuse a recipient, like a real server)."""

    def __init__(self, refuse: str = "") -> None:
        self.messages, self.refuse = [], refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    """A real SMTP server on a free port: (port, inbox). Plain (no TLS), as a local relay would be."""
    inbox = Inbox(refuse="gone@example.com")
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@dataclass
class FakeTicket:
    email: str = "anna@example.com"
    reply: str = "A new lid is on its way.\nIt ships today."
    message: str = "My parcel 204518 arrived with a broken lid.\nCan you send a new one?"
    reference: str = "T-ABC123"
    created_at: dt.datetime = dt.datetime(2026, 12, 2, 21, 5)


def mailer(port, **changes) -> Mailer:
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none", "smtp_from": SENDER,
              "smtp_timeout": 3.0, **changes}
    return Mailer.from_settings(Settings(**values))


def send(m: Mailer, ticket) -> None:
    asyncio.run(m.send_ticket_reply(ticket))


def test_the_answer_arrives_as_plain_text_quoting_the_visitors_message(smtp):
    port, inbox = smtp
    send(mailer(port), FakeTicket())
    [(mail_from, rcpt, message)] = inbox.messages
    assert (mail_from, rcpt) == ("help@northwind.example", ["anna@example.com"])
    assert (message["To"], message["From"]) == ("anna@example.com", SENDER)
    assert message["Subject"] == "Your message to Northwind Goods (T-ABC123)"
    assert message["Message-ID"].endswith("@northwind.example>") and message["Date"]
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    body = message.get_content().replace("\r\n", "\n")  # lines end in CRLF on the wire
    assert body.startswith("A new lid is on its way.\nIt ships today.\n")
    assert "On 2 December 2026, 21:05 UTC you wrote to us (reference T-ABC123):\n" in body
    assert "> My parcel 204518 arrived with a broken lid.\n> Can you send a new one?" in body


def test_user_text_cannot_add_headers_or_html(smtp):
    port, inbox = smtp
    sneaky = "Thanks\r\nBcc: eve@example.com\r\n\r\n<b>bold</b> {shop_name} <script>x()</script>"
    send(mailer(port), FakeTicket(reply=sneaky, message="hi\nBcc: eve@example.com\nSubject: free money"))
    [(_, rcpt, message)] = inbox.messages
    assert rcpt == ["anna@example.com"] and message["Bcc"] is None
    assert message["Subject"] == "Your message to Northwind Goods (T-ABC123)"
    body = message.get_content().replace("\r\n", "\n")  # lines end in CRLF on the wire
    assert "<b>bold</b> {shop_name} <script>x()</script>" in body  # as typed: text, not HTML, not a template
    assert message.get_content_type() == "text/plain" and "> Bcc: eve@example.com" in body


def test_an_address_with_a_header_in_it_is_not_sent_to(smtp):
    port, inbox = smtp
    for bad in ("anna@example.com\r\nBcc: eve@example.com", "anna@example.com, eve@example.com", "anna@example"):
        with pytest.raises(MailUnavailable, match="not a valid email address"):
            send(mailer(port), FakeTicket(email=bad))
    assert inbox.messages == []
    assert one_line("Re: x\r\nBcc: eve@example.com\x00") == "Re: x Bcc: eve@example.com"


def test_a_refused_address_is_a_clear_error(smtp):
    port, inbox = smtp
    with pytest.raises(MailUnavailable, match="refused the address: gone@example.com: 550"):
        send(mailer(port), FakeTicket(email="gone@example.com"))
    assert inbox.messages == []


def test_smtp_down_is_a_clear_error_at_once():
    started = time.monotonic()
    with pytest.raises(MailUnavailable, match="could not reach the mail server 127.0.0.1"):
        send(mailer(free_port()), FakeTicket())  # nothing listens there
    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_costs_the_timeout_once():
    with socket.socket() as silent:  # takes the connection, never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(MailUnavailable, match="did not answer within 0.5 s"):
            send(mailer(silent.getsockname()[1], smtp_timeout=0.5), FakeTicket())
        assert time.monotonic() - started < 1.5  # one attempt: no retries


def test_starttls_is_required_when_asked_for_never_skipped(smtp):
    port, inbox = smtp  # this server offers no STARTTLS: the password must not go in the clear
    with pytest.raises(MailUnavailable, match="STARTTLS"):
        send(mailer(port, smtp_tls="starttls", smtp_user="shop", smtp_password="secret"), FakeTicket())
    assert inbox.messages == []


def test_user_and_password_log_in():
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"secret", handled=False)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        send(mailer(controller.port, smtp_user="shop", smtp_password="secret"), FakeTicket())
        with pytest.raises(MailUnavailable, match="535"):
            send(mailer(controller.port, smtp_user="shop", smtp_password="wrong"), FakeTicket())
    finally:
        controller.stop()
    assert seen[0] == (b"shop", b"secret") and len(inbox.messages) == 1


def test_no_smtp_host_means_no_mailer_and_settings_are_checked():
    assert Mailer.from_settings(Settings()) is None
    env = {"SMTP_HOST": "mail.example.com", "SMTP_FROM": SENDER, "SMTP_USER": "shop", "SMTP_PASSWORD": "pw",
           "SMTP_TLS": "ssl", "SMTP_TIMEOUT": "4"}
    s = Settings.from_env(env)
    assert (s.smtp_port_or_default, s.smtp_timeout) == (465, 4.0)
    assert Settings.from_env({**env, "SMTP_TLS": ""}).smtp_port_or_default == 587  # starttls unless told
    child = Settings.from_env(s.to_env())  # what the console process is started with
    assert (child.smtp_host, child.smtp_from, child.smtp_user, child.smtp_password, child.smtp_tls, child.smtp_port) == (
        "mail.example.com", SENDER, "shop", "pw", "ssl", 0)
    with pytest.raises(SettingsError, match="SMTP_TLS"):
        Settings.from_env({**env, "SMTP_TLS": "tls1.3"})
    with pytest.raises(SettingsError, match="SMTP_FROM"):
        Settings.from_env({"SMTP_HOST": "mail.example.com"})
