"""The one client for the mail server (SMTP, through aiosmtplib): an agent's answer to a ticket goes to the
visitor as a plain-text email quoting what they wrote. One attempt per call, bounded by a timeout, no retries
of its own: a failure is MailUnavailable, the reply stays stored, and the agent sends it again.

Also the email syntax check the ticket form uses (email-validator, no DNS look-up)."""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Mapping, Optional

import aiosmtplib
from email_validator import EmailNotValidError, validate_email

from bot import shop
from bot.settings import Settings

EDGES = "<>()[]{}\"'`,;:.!?"  # around an address in a sentence: "(anna@example.com)." is anna@example.com
MESSAGE_WORDS = 8  # besides the address; fewer is rather "you can write to me at ..." than a message
TEMPLATES = ("ticket_reply_subject", "ticket_reply_body")
MAX_ERROR = 300


class MailUnavailable(RuntimeError):
    """The email was not sent; the message says why, in words an agent can act on."""


def checked_address(text: str) -> Optional[str]:
    """The address normalised (domain lower-cased), or None when its syntax is not an email address's: no
    quoting, no display name, a dotted domain whose top level has two letters at least. Nothing is looked up."""
    try:
        found = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    top = found.ascii_domain.rsplit(".", 1)[-1]
    return found.normalized if len(top) >= 2 and not top.isdigit() else None


def email_in(text: str) -> Optional[str]:
    """The address in what a visitor typed ("it's Anna@Example.com."), or None: the first word with an @ that is
    an address. A word with an @ that is not one ("anna@example") gives None, so the visitor is asked again."""
    for word in (text or "").split():
        if "@" in word:
            address = checked_address(word.strip(EDGES).removeprefix("mailto:"))
            if address:
                return address
    return None


def message_besides_address(text: str) -> Optional[str]:
    """What a visitor wrote around an address, when it is long enough to be the message they want to leave
    ("anna@example.com my parcel came with a broken lid, ..."): they wrote both at once. Else None."""
    if "@" not in (text or ""):
        return None
    rest = re.sub(r"[ \t]+", " ", re.sub(r"\S*@\S*", " ", text)).strip(" \t\r\n,;:-")
    return rest if len(rest.split()) >= MESSAGE_WORDS else None


def one_line(text: str, limit: int = 200) -> str:
    """A header value: control characters (a CR or LF would start a header of its own) become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())[:limit]


def quoted(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines() or [""])


def when(moment: dt.datetime) -> str:
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    tls: str  # starttls | ssl | none
    sender: str  # the From header: "help@shop.example" or "Shop help <help@shop.example>"
    user: str = ""
    password: str = field(default="", repr=False)  # never in a log line
    timeout: float = 10.0
    texts: Mapping[str, Any] = field(default_factory=dict)  # mail templates and their facts (shop/facts.yml)

    @classmethod
    def from_settings(cls, settings: Settings, facts_file: Path = shop.FACTS_FILE) -> Optional[Mailer]:
        """None without SMTP settings: replies are then stored, not sent. Bad templates fail here, at start."""
        if not settings.smtp_configured:
            return None
        data = shop.load(facts_file)
        templates = data.get("mail") or {}
        missing = [name for name in TEMPLATES if name not in templates]
        if missing:
            raise shop.ShopFactsError(f"{facts_file} needs mail: {', '.join(missing)}")
        mailer = cls(settings.smtp_host, settings.smtp_port_or_default, settings.smtp_tls, settings.smtp_from,
                     settings.smtp_user, settings.smtp_password, settings.smtp_timeout,
                     {"facts": data["facts"], **{name: templates[name] for name in TEMPLATES}})
        mailer.ticket_reply(_SAMPLE, "visitor@example.com")  # every placeholder is one we fill
        return mailer

    def ticket_reply(self, ticket: Any, to: str) -> EmailMessage:
        """The email for a ticket's reply. User text goes only into the body (plain text) and, made one line,
        nowhere else: the subject is the shop's template with the ticket's reference."""
        values = {**self.texts["facts"], "reply": ticket.reply or "", "reference": ticket.reference,
                  "date": when(ticket.created_at), "quoted": quoted(ticket.message)}
        message = EmailMessage(policy=SMTP if to.isascii() else SMTPUTF8)
        message["From"] = one_line(self.sender)
        message["To"] = one_line(to)
        message["Subject"] = one_line(shop.fill(self.texts["ticket_reply_subject"], values))
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=parseaddr(self.sender)[1].rpartition("@")[2] or None)
        message.set_content(shop.fill(self.texts["ticket_reply_body"], values))
        return message

    async def send_ticket_reply(self, ticket: Any) -> None:
        to = checked_address(ticket.email or "")
        if to is None:
            raise MailUnavailable(f"the visitor's address {one_line(ticket.email, 80)!r} is not a valid email address")
        await self.send(self.ticket_reply(ticket, to))

    async def send(self, message: EmailMessage) -> None:
        try:
            await asyncio.wait_for(aiosmtplib.send(
                message, hostname=self.host, port=self.port, username=self.user or None,
                password=self.password or None, use_tls=self.tls == "ssl", start_tls=self.tls == "starttls",
                timeout=self.timeout), self.timeout)
        except (asyncio.TimeoutError, aiosmtplib.SMTPTimeoutError) as err:
            raise MailUnavailable(f"the mail server {self.host}:{self.port} did not answer within {self.timeout:g} s") from err
        except aiosmtplib.SMTPRecipientsRefused as err:
            refused = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in err.recipients)
            raise MailUnavailable(f"the mail server refused the address: {refused}"[:MAX_ERROR]) from err
        except aiosmtplib.SMTPResponseException as err:
            raise MailUnavailable(f"the mail server answered {err.code} {err.message}"[:MAX_ERROR]) from err
        except OSError as err:  # aiosmtplib's connect and disconnect errors are ConnectionErrors too
            raise MailUnavailable(f"could not reach the mail server {self.host}:{self.port}: {_reason(err)}"[:MAX_ERROR]) from err
        except aiosmtplib.SMTPException as err:  # e.g. starttls asked for and not offered: nothing goes in the clear
            raise MailUnavailable(f"the mail server {self.host}:{self.port} could not be used: {err}"[:MAX_ERROR]) from err


def _reason(err: Exception) -> str:
    """"Connection refused", not the repr of aiosmtplib's wrapper around asyncio's wrapper around the OS error."""
    cause = err.__cause__ if isinstance(err.__cause__, OSError) else err
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno) if cause.errno > 0 else (cause.strerror or str(cause))
    return str(err) or err.__class__.__name__


@dataclass(frozen=True)
class _Sample:
    reply: str = "reply"
    reference: str = "T-000000"
    message: str = "message"
    created_at: dt.datetime = dt.datetime(2026, 1, 1)


_SAMPLE = _Sample()
