"""What an agent sees, in headless Chromium, when the console refuses: another team's conversation (403), a note
over the cap (413), being deactivated while the console is open (back to the login page, which says why), and
too many sign-in attempts (429). The console app is served in the test (tests/unit/console_app.py): no Rasa."""
import asyncio

from bot.console.blueprints import queue as queue_blueprint
from bot.console.sessions import login_keys
from tests.e2e.browser import NEEDS_CHROMIUM, SHOTS, submit_sign_in
from tests.unit.console_app import rasa_trackers, served

pytestmark = NEEDS_CHROMIUM
FLASH = "document.getElementById('flash').textContent"
LOGIN_ERROR = "document.getElementById('login-error').textContent"


def test_an_agent_is_told_why_the_console_refused(tmp_path, redis_url, browser, monkeypatch):
    monkeypatch.setattr(queue_blueprint, "HEARTBEAT_SECONDS", 0.5)

    async def scenario():
        async with rasa_trackers() as rasa, served(tmp_path, redis_url, rasa_api_url_override=rasa) as console:
            admin = await console.admin()
            _, pia = await console.user("agent", teams="payments")
            theirs, mine = await console.handoff("orders"), await console.handoff("payments")
            page = await browser.isolated_page()
            try:
                await submit_sign_in(page, console.base, pia["username"], f"{pia['username']}-password")
                await page.wait_for("location.pathname === '/' && document.getElementById('me').textContent.length > 0")
                await page.js(f"location.hash = '#/c/{theirs}'")
                await page.wait_for(f"{FLASH}.includes('not handed to you or your teams')")
                await page.screenshot(SHOTS / "console-refused-403.png")

                await page.js(f"location.hash = '#/c/{mine}'")
                await page.wait_for("document.getElementById('conv-state').textContent === 'waiting'")
                await page.js("document.getElementById('note').value = 'x'.repeat(4001);"
                              "document.getElementById('note-form').requestSubmit()")
                await page.wait_for(f"{FLASH}.includes('at most 4000 characters')")
                await page.screenshot(SHOTS / "console-refused-413.png")

                assert (await admin.call("PATCH", f"/api/users/{pia['id']}", {"active": False}))[0] == 200
                await page.wait_for(f"location.pathname === '/login' && {LOGIN_ERROR}.includes('You were signed out')")
                await page.screenshot(SHOTS / "console-signed-out.png")

                for _ in range(11):
                    # login.js empties the error as it submits: what is waited for is this attempt's answer
                    await page.js("document.getElementById('username').value = 'ghost';"
                                  "document.getElementById('password').value = 'not-the-password';"
                                  "document.getElementById('login').requestSubmit()")
                    await page.wait_for(f"{LOGIN_ERROR}.length > 0")
                assert "too many sign-in attempts; try again in 15 minutes" in await page.js(LOGIN_ERROR)
                await page.screenshot(SHOTS / "console-refused-429.png")
            finally:
                await page.close()
                await console.ctx.sessions.redis.delete(*login_keys("ghost", "127.0.0.1"))
    asyncio.run(scenario())
