"""Order conversations as a visitor sees them in the widget: a late order, and choosing which order.

Screenshots go to test-artifacts/ for a person to look at."""
import datetime as dt
import random

from tests.e2e.browser import BOTS, LAST_BOT, NEEDS_CHROMIUM, SHOTS, open_chat, run, send
from tests.integration.test_orders_conversation import arrange, own_orders

pytestmark = NEEDS_CHROMIUM
REPLIES = "[...document.querySelectorAll('.sc-reply')].map(b => b.textContent)"


def test_a_late_order_is_apologised_for_with_its_tracking_link_and_a_person(stack, browser, shop):
    now = dt.datetime.now().replace(microsecond=0)
    order = arrange(shop, "shipped", shipped_at=now - dt.timedelta(days=7),
                    expected_delivery=(now - dt.timedelta(days=4)).date())

    async def scenario():
        page = await browser.page()
        try:
            await open_chat(page, stack)
            await send(page, f"where is order {order.number}? it should have arrived days ago")
            await send(page, order.email)
            await page.wait_for(f"{LAST_BOT}.includes('chase it')")
            late = f"{BOTS}.slice(-2)[0]"
            assert "is late" in await page.js(f"{late}.textContent")
            link = await page.js(f"{late}.querySelector('a').href")  # a link the visitor can follow
            assert link.startswith("https://www.dhl.de/") and link.endswith(f"piececode={order.tracking_number}")
            assert await page.js(REPLIES) == ["Yes, get a person", "No, I'll wait"]
            await page.screenshot(SHOTS / "orders-late-order.png")
        finally:
            await page.close()
    run(scenario())


def test_which_order_is_asked_with_the_items_and_a_click_picks_it(stack, browser, shop):
    day = dt.timedelta(days=1)
    now = dt.datetime.now().replace(microsecond=0)
    customer = f"C{random.randint(2, 200):05d}"  # C00001 is the demo page's own customer
    _, shoes, jacket, _ = own_orders(
        shop, customer,
        ("shipped", "Grey hoodie", dict(placed_at=now - day * 2)),
        ("delivered", "Running shoes", dict(placed_at=now - day * 6, delivered_at=now - day * 3)),
        ("delivered", "Rain jacket", dict(placed_at=now - day * 8, delivered_at=now - day * 5)),
        ("cancelled", "Yoga mat", dict(placed_at=now - day * 9, cancelled_at=now - day * 9)))

    async def scenario():
        page = await browser.page()
        try:
            await open_chat(page, stack, f"?customer={customer}")
            await send(page, "I want a refund")
            replies = await page.js(REPLIES)
            assert any("Running shoes" in r for r in replies) and any("Rain jacket" in r for r in replies)
            assert not any("Yoga mat" in r for r in replies)  # cancelled: nothing to refund
            await page.screenshot(SHOTS / "orders-which-order.png")
            await page.js("[...document.querySelectorAll('.sc-reply')].find(b => b.textContent.includes('Rain')).click()")
            await page.wait_for(f"{LAST_BOT}.includes('Shall I start the return')")
            assert f"#{jacket.number}" in await page.js(f"{LAST_BOT}")
        finally:
            await page.close()
    run(scenario())
