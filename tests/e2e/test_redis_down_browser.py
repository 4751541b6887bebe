"""What an agent sees, in headless Chromium, when Redis goes away and comes back (issue 21): a "queue unavailable"
banner while it is down, on the open console and on a page loaded meanwhile, and the console back by itself when
it returns (no reload by the agent, no restart of the console). The console app is served in the test
(tests/unit/console_app.py) against a redis-server of the test's own, stopped and started on the same port."""
import asyncio

from bot.embedded_redis import EmbeddedRedis
from tests.conftest import free_port
from tests.e2e.browser import NEEDS_CHROMIUM, SHOTS, submit_sign_in
from tests.unit.console_app import rasa_trackers, served

pytestmark = NEEDS_CHROMIUM
BANNER_SHOWN = "(b => b && !b.hidden && b.textContent.includes('Queue unavailable'))(document.getElementById('queue-banner'))"
BANNER_GONE = "(b => !b || b.hidden)(document.getElementById('queue-banner'))"
SIGNED_IN = "location.pathname === '/' && document.getElementById('me').textContent.length > 0"


def test_the_console_shows_a_queue_unavailable_banner_and_recovers(tmp_path, browser):
    redis = EmbeddedRedis(tmp_path / "redis", free_port(), password="down-and-back").start()

    async def scenario():
        async with rasa_trackers() as rasa, served(tmp_path, redis.url, rasa_api_url_override=rasa) as console:
            _, agent = await console.user("agent")
            await console.handoff("general")
            page = await browser.isolated_page()
            try:
                await submit_sign_in(page, console.base, agent["username"], f"{agent['username']}-password")
                await page.wait_for(SIGNED_IN)
                await page.wait_for(BANNER_GONE)
                redis.stop()
                await page.wait_for(BANNER_SHOWN, timeout=20)  # the next refresh of the queue meets the 503
                await page.screenshot(SHOTS / "console-queue-unavailable.png")
                await page.js("location.reload()")  # a page loaded while Redis is down still renders, with it
                await page.wait_for(f"{BANNER_SHOWN} && document.getElementById('presence') !== null", timeout=20)
                await page.screenshot(SHOTS / "console-queue-unavailable-reloaded.png")
                redis.start()
                await page.wait_for(f"{BANNER_GONE} && {SIGNED_IN}", timeout=30)  # by itself
                # the waiting chat is listed again (its row has the Claim button; the empty queue's shell has none)
                await page.wait_for("[...document.querySelectorAll('button')].some(b => b.textContent === 'Claim')")
                await page.screenshot(SHOTS / "console-queue-back.png")
            finally:
                await page.close()
    try:
        asyncio.run(scenario())
    finally:
        redis.stop()
