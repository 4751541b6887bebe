"""The analytics dashboard in headless Chromium with two weeks of demo conversations; the screenshot goes to
test-artifacts/analytics.png for a person to look at."""
import asyncio

import pytest

from bot.touchpoints import demo
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import CHROMIUM, Browser
from tests.e2e.test_handoff_browser import sign_in
from tests.e2e.test_widget_browser import SHOTS

pytestmark = pytest.mark.skipif(not CHROMIUM, reason="Debian's chromium is not installed (.ci/run installs it)")


def test_the_dashboard_shows_charts_an_admin_can_read(stack):
    url = stack.settings.touchpoints_url
    assert demo.fill(url, days=14, per_day=25) > 1000
    browser = Browser()

    async def scenario():
        page = await browser.isolated_page()
        try:
            await page.viewport(1400, 1800)
            await sign_in(page, stack, "admin", ADMIN_PASSWORD)
            await page.goto(f"{stack.settings.console_url}/analytics")
            assert await page.js("document.querySelectorAll('svg.chart').length") >= 10
            assert await page.js("document.querySelectorAll('svg.chart polyline').length") >= 6  # lines were drawn
            assert await page.js("document.querySelectorAll('.card').length") == 10
            cards = await page.js("[...document.querySelectorAll('.card .v')].map(c => c.textContent)")
            assert cards[0] != "-" and "%" in cards[1]
            await page.screenshot(SHOTS / "analytics.png")
        finally:
            await page.close()
    try:
        asyncio.run(scenario())
    finally:
        browser.close()
        demo.remove(url)
