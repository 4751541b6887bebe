"""The tickets view in headless Chromium: an agent sees whether an answer was emailed, or why not, can send
it again, and without a mail server is told that answers are stored, not sent. Screenshots in test-artifacts/."""
import asyncio

from aiosmtpd.controller import Controller

from tests.conftest import ADMIN_PASSWORD, free_port
from tests.e2e.browser import NEEDS_CHROMIUM, SHOTS, sign_in
from tests.integration import test_ticket_mail
from tests.integration.test_ticket_mail import console_only, smtp_settings
from tests.unit.test_mail import Inbox

pytestmark = NEEDS_CHROMIUM
FLASH = "document.getElementById('flash')"
new_ticket = test_ticket_mail.new_ticket  # the fixture


def item(ticket) -> str:
    return f"[...document.querySelectorAll('#tickets .ticket')].find(li => li.textContent.includes({ticket.reference!r}))"


async def answer(page, ticket, text):
    await page.wait_for(item(ticket))
    await page.js(f"var li = {item(ticket)}; li.querySelector('textarea').value = {text!r};"
                  "li.querySelector('form').requestSubmit()")


def test_the_agent_sees_sent_and_not_sent_and_sends_again(tmp_path, redis_url, database_url, new_ticket, browser):
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    sent, unsent = new_ticket(), new_ticket("The wrong size came, I need a 42.", "ben@example.com")

    async def scenario(running):
        nonlocal smtp
        page = await browser.isolated_page()
        try:
            await sign_in(page, running, "admin", ADMIN_PASSWORD)
            await page.goto(f"{running.settings.console_url}/#/tickets")
            await answer(page, sent, "A new lid is on its way.")
            await page.wait_for(f"{FLASH}.textContent === 'Sent to anna@example.com.'")
            assert await page.js("document.getElementById('tickets-mail-note')") is None

            smtp.stop()
            await answer(page, unsent, "A 42 is on its way.")
            await page.wait_for(f"{FLASH}.textContent.startsWith('Stored, not sent: could not reach the mail server')")
            line = f"{item(unsent)}.querySelector('.mail-state')"
            await page.wait_for(f"{line} && {line}.textContent.startsWith('Not sent: could not reach')")
            assert await page.js(f"{item(unsent)}.querySelector('textarea').value") == "A 42 is on its way."
            await page.screenshot(SHOTS / "console-ticket-not-sent.png")

            smtp = Controller(inbox, hostname="127.0.0.1", port=port)
            smtp.start()
            await page.js(f"[...{item(unsent)}.querySelectorAll('button')].find(b => b.textContent === 'Send again').click()")
            await page.wait_for(f"{FLASH}.textContent === 'Sent to ben@example.com.'")
            await page.js("var f = document.getElementById('ticket-filter'); f.value = ''; f.dispatchEvent(new Event('change'))")
            await page.wait_for(f"{item(sent)} && {item(unsent)}.querySelector('.pill.ok')")
            emailed = await page.js(f"{item(sent)}.querySelector('.pill.ok').textContent")
            assert emailed.startswith("Emailed to anna@example.com")
            await page.screenshot(SHOTS / "console-tickets-sent.png")
        finally:
            await page.close()

    try:
        with console_only(tmp_path, redis_url, database_url, **smtp_settings(port)) as running:
            asyncio.run(scenario(running))
    finally:
        smtp.stop()
    assert [rcpt for _, rcpt, _ in inbox.messages] == [["anna@example.com"], ["ben@example.com"]]


def test_without_a_mail_server_the_view_says_answers_are_stored_not_sent(tmp_path, redis_url, database_url, new_ticket,
                                                                          browser):
    ticket = new_ticket()

    async def scenario(running):
        page = await browser.isolated_page()
        try:
            await sign_in(page, running, "admin", ADMIN_PASSWORD)
            await page.goto(f"{running.settings.console_url}/#/tickets")
            note = "document.getElementById('tickets-mail-note')"
            await page.wait_for(f"{note} && {note}.offsetParent !== null && {item(ticket)}")
            assert (await page.js(f"{note}.textContent")).startswith("Replies are stored, not sent")
            assert await page.js(f"{item(ticket)}.querySelector('button[type=submit]').textContent") == "Save answer"
            await page.screenshot(SHOTS / "console-tickets-not-sending.png")
            await answer(page, ticket, "A new lid is on its way.")
            await page.wait_for(f"{FLASH}.textContent.startsWith('Replies are stored, not sent')")
        finally:
            await page.close()

    with console_only(tmp_path, redis_url, database_url) as running:
        asyncio.run(scenario(running))
