"""The widget in headless Chromium on the demo shop page, against the running stack.

Screenshots go to test-artifacts/ for a person to look at."""
import datetime as dt
import json

import sqlalchemy as sa

from bot.orders.sql import OrderRow, SqlOrders
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import (
    BOT_DONE,
    BOTS,
    LAST_BOT,
    LAST_VISITOR,
    NEEDS_CHROMIUM,
    SHOTS,
    STORED_SESSION,
    click_reply,
    forget_visitor,
    open_chat,
    run,
    send,
    session_of,
    sign_in,
    still_after,
)
from tests.integration.conftest import make_agent, set_everyone_offline

pytestmark = NEEDS_CHROMIUM
BUBBLES = "document.querySelectorAll('.sc-log .sc-msg')"


def test_a_visitor_asks_clicks_reloads_and_stays_safe(stack, browser, nobody_on_shift):
    async def scenario():
        page = await browser.page()
        try:
            demo = await open_chat(page, stack)
            assert "Nora" in await page.js("document.querySelector('.sc-bot').textContent")

            await send(page, "how much is shipping")
            assert "4.90 EUR" in await page.js(LAST_BOT)

            payload = "<img src=x onerror=\"document.body.dataset.pwned=1\"><b>bold</b>"
            await send(page, payload)
            assert await page.js(LAST_VISITOR) == payload
            assert await page.js("document.querySelectorAll('.sc-log img, .sc-log b').length") == 0
            assert await page.js("document.body.dataset.pwned") is None

            await send(page, "qwxz plonk zzz")
            await send(page, "vrrp blam snark")
            assert await page.js("document.querySelectorAll('.sc-reply').length") == 2  # quick replies
            await page.screenshot(SHOTS / "widget-quick-replies.png")
            await page.js("document.querySelector('.sc-reply').click()")  # "Yes, a person please"
            # nobody on shift: the bot says how else to reach the shop, and offers to take a message
            await page.wait_for(f"{BOTS}.slice(-2)[0].textContent.includes('help@northwind.example')")
            await page.wait_for(f"{LAST_BOT}.includes('leave a message')")
            assert await page.js(LAST_VISITOR) == \
                "Yes, a person please"

            shown = await page.js(f"[...{BUBBLES}].map(b => b.firstChild.textContent)")
            await page.goto(demo)  # reload: the same conversation, once
            transcript = f"JSON.stringify([...{BUBBLES}].map(b => b.firstChild.textContent))"
            try:
                expected = json.dumps(json.dumps(shown, separators=(",", ":"), ensure_ascii=False))  # as JSON.stringify writes it
                await page.wait_for(f"{transcript} === {expected}")  # the same, each message once
            except AssertionError:
                raise AssertionError(f"before: {shown}\nafter reload: {await page.js(transcript)}") from None
            await still_after(page, f"{transcript} === {expected}", 1.0)  # and nothing arrives twice afterwards
            assert await page.js("!document.querySelector('.sc-panel').hidden")  # still open after the reload
            await page.screenshot(SHOTS / "widget-after-reload.png")

            await page.viewport(390, 844, mobile=True)  # a phone
            await page.wait_for("document.querySelector('.sc-panel').getBoundingClientRect().width === 390")
            assert await page.js("getComputedStyle(document.querySelector('.sc-launch')).display") == "none"
            await page.screenshot(SHOTS / "widget-phone.png")
        finally:
            await page.close()
    run(scenario())


def test_a_signed_in_demo_customer_is_recognised(stack, browser):
    async def scenario():
        page = await browser.page()
        try:
            await open_chat(page, stack, "?customer=C00001")
            await send(page, "show me my orders")
            assert "Your most recent orders" in await page.js(LAST_BOT)
        finally:
            await page.close()
    run(scenario())


def test_the_launcher_counts_unread_messages_and_works_from_the_keyboard(stack, browser):
    async def scenario():
        page = await browser.page()
        try:
            await forget_visitor(page, stack)
            await page.goto(f"{stack.settings.rasa_url}/webhooks/widget/demo")
            await page.wait_for("document.querySelector('.sc-badge') && !document.querySelector('.sc-badge').hidden")
            assert await page.js("document.querySelector('.sc-badge').textContent") == "1"  # the greeting, unread
            await page.js("document.querySelector('.sc-launch').focus()")
            await page.send("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13,
                            text="\r")
            await page.send("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter", windowsVirtualKeyCode=13)
            await page.wait_for("!document.querySelector('.sc-panel').hidden")
            assert await page.js("document.activeElement.className") == "sc-input"
            assert await page.js("document.querySelector('.sc-badge').hidden")
        finally:
            await page.close()
    run(scenario())


def test_an_agent_message_shows_the_agents_name_as_text(stack, browser):
    import socketio

    async def scenario():
        page = await browser.page()
        try:
            await open_chat(page, stack)
            store = await page.js(STORED_SESSION)
            console = socketio.AsyncRedisManager(stack.settings.redis.url(), channel="shopbot-widget", write_only=True)
            text = "Hi, I'm Sam <script>document.body.dataset.pwned=1</script> see https://shop.northwind.example/returns."
            await console.emit("bot_uttered", {"text": text, "agent": "Sam"}, room=store["session_id"])
            await page.wait_for("document.querySelector('.sc-agent')")
            assert await page.js("document.querySelector('.sc-agent .sc-who').textContent") == "Sam"
            assert "<script>" in await page.js("document.querySelector('.sc-agent').textContent")
            assert await page.js("document.querySelector('.sc-agent a').getAttribute('href')") == \
                "https://shop.northwind.example/returns"
            assert await page.js("document.querySelectorAll('.sc-log script').length") == 0
            assert await page.js("document.body.dataset.pwned") is None
            await page.screenshot(SHOTS / "widget-agent-message.png")
        finally:
            await page.close()
    run(scenario())


def test_a_dropped_connection_is_announced_and_recovers(stack, browser):
    async def scenario():
        page = await browser.page()
        try:
            await open_chat(page, stack)
            await page.send("Network.enable")
            await page.send("Network.emulateNetworkConditions", offline=True, latency=0,
                            downloadThroughput=-1, uploadThroughput=-1)
            await page.wait_for("!document.querySelector('.sc-status').hidden")
            assert "Connection lost" in await page.js("document.querySelector('.sc-status').textContent")
            assert await page.js("document.querySelector('.sc-send').disabled")
            await page.screenshot(SHOTS / "widget-offline.png")
            await page.send("Network.emulateNetworkConditions", offline=False, latency=0,
                            downloadThroughput=-1, uploadThroughput=-1)
            await page.wait_for("document.querySelector('.sc-status').textContent.includes('Reconnected')", timeout=30)
            assert not await page.js("document.querySelector('.sc-send').disabled")
            await send(page, "what are your opening hours")  # and the conversation goes on
            assert "Torstrasse" in await page.js(LAST_BOT)
        finally:
            await page.close()
    run(scenario())


def order_in_flight(stack, customer):
    """The customer's latest order shipped yesterday (their other orders are older): the signed-in greeting names it."""
    shop = SqlOrders(stack.settings.sql_url)
    try:
        number = shop.recent_orders(customer, 1)[0].number
        now = dt.datetime.now().replace(microsecond=0)
        with shop.session.begin() as s:
            s.execute(sa.update(OrderRow).where(OrderRow.customer_id == customer, OrderRow.number != number)
                      .values(placed_at=now - dt.timedelta(days=40)))
            s.execute(sa.update(OrderRow).where(OrderRow.number == number).values(
                status="shipped", placed_at=now - dt.timedelta(days=2), shipped_at=now - dt.timedelta(days=1),
                carrier="DHL", tracking_number="00340434" + number, delivered_at=None, cancelled_at=None,
                expected_delivery=(now + dt.timedelta(days=1)).date()))
        return shop.order(number)
    finally:
        shop.close()


LOG_CLASSES = "[...document.querySelector('.sc-log').children].filter(n => !n.hidden).map(n => n.className)"


def test_logging_in_mid_chat_starts_a_fresh_chat_greeted_once_by_name(stack, browser):
    order = order_in_flight(stack, "C00042")
    first = order.address.name.split()[0]

    async def scenario():
        page = await browser.page()
        try:
            demo = await open_chat(page, stack)  # anonymous, mid-chat
            await send(page, "how much is shipping")
            await page.goto(f"{demo}?customer=C00042")  # logs in on the shop page
            await page.wait_for(f"document.querySelector('.sc-bot') && "
                                f"document.querySelector('.sc-bot').textContent.includes('#{order.number}')")
            await page.wait_for(BOT_DONE)
            await still_after(page, f"{BOTS}.length === 1", 0.5)  # and nothing else follows
            assert f"Logged in as {first} (C00042)" in await page.js("document.querySelector('.login').textContent")
            assert await page.js("document.querySelectorAll('.sc-visitor').length") == 0  # not the guest's chat
            bots = await page.js(f"{BOTS}.map(b => b.firstChild.textContent)")
            assert len(bots) == 1, bots  # one greeting
            assert bots[0].startswith(f"Hi {first}, I'm Nora") and "Demo" not in bots[0] and "shipped yesterday" in bots[0]
            assert await page.js(LOG_CLASSES) == ["sc-msg sc-bot", "sc-replies"]  # buttons at the end
            assert await page.js("[...document.querySelectorAll('.sc-reply')].map(b => b.textContent)") == \
                ["Yes, about this order", "Something else"]
            await page.screenshot(SHOTS / "widget-logged-in-greeting.png")

            await page.goto(demo)  # logs out: the next person on this browser must not see her chat
            await page.wait_for("document.querySelector('.sc-bot') && "
                                "!document.querySelector('.sc-bot').textContent.includes('#')")
            await page.wait_for(BOT_DONE)
            await still_after(page, f"{BOTS}.length === 1", 0.5)
            bots = await page.js(f"{BOTS}.map(b => b.firstChild.textContent)")
            assert len(bots) == 1 and bots[0].startswith("Hi, I'm Nora") and first not in bots[0]
            assert await page.js("document.querySelectorAll('.sc-reply').length") == 0
            await page.screenshot(SHOTS / "widget-logged-out.png")
        finally:
            await page.close()
    run(scenario())


def test_the_header_says_who_is_chatting_and_back_to_the_assistant(stack, browser):
    set_everyone_offline(stack)
    tom = make_agent(stack, "tom", name="Tom")
    header = "document.querySelector('.sc-head p').textContent"

    async def scenario():
        page = await browser.page()
        try:
            demo = await open_chat(page, stack)
            assert await page.js(header) == "Nora, our assistant, answers right away"
            await send(page, "I want to talk to a person")
            await page.wait_for(f"{header} === 'Connecting you with our team\u2026'")
            session_id = await session_of(page)
            tom.call("POST", f"/api/conversations/{session_id}/claim")
            await page.wait_for(f"{header} === \"You're chatting with Tom\"")
            tom.call("POST", f"/api/conversations/{session_id}/messages", {"text": "Hi, Tom here. How can I help?"})
            await page.wait_for("document.querySelector('.sc-agent')")
            await page.screenshot(SHOTS / "widget-header-agent.png")
            await page.goto(demo)  # a reload still knows who has the chat, and who wrote what
            await page.wait_for(f"{header} === \"You're chatting with Tom\"")
            await page.wait_for("document.querySelector('.sc-agent')")
            assert await page.js("document.querySelector('.sc-agent .sc-who').textContent") == "Tom"
            await still_after(page, "[...document.querySelectorAll('.sc-event')].filter(e => "
                              "e.textContent.includes('joined')).length === 0", 0.3)  # not told again, after his message

            tom.call("POST", f"/api/conversations/{session_id}/handback", {})
            await page.wait_for(f"{header} === 'Nora, our assistant, answers right away'")
            await page.wait_for(f"{BOTS}.some(b => b.textContent.includes('How happy'))")
            await page.screenshot(SHOTS / "widget-header-back-to-bot.png")

            # a low rating: the bot asks what went wrong, and the agent reads it in the conversation view
            await click_reply(page, "2")
            await page.wait_for(f"{LAST_BOT}.includes('recommend us')")
            await click_reply(page, "3")
            await page.wait_for(f"{LAST_BOT}.includes('What went wrong')")
            await send(page, "Tom was kind but my refund is still missing")
            assert "Thank you for telling us" in await page.js(LAST_BOT)
            await page.screenshot(SHOTS / "widget-low-rating.png")

            console = await browser.isolated_page()
            try:
                await sign_in(console, stack, "tom", "tom-password-123")
                await console.goto(f"{stack.settings.console_url}/#/c/{session_id}")
                await console.wait_for("document.querySelector('#notes .rating')")
                rating = await console.js("document.querySelector('#notes .rating').textContent")
                assert "Satisfaction 2/5" in rating and "would recommend 3/10" in rating
                assert "my refund is still missing" in rating
                await console.screenshot(SHOTS / "console-low-rating.png")
            finally:
                await console.close()
            owner = await browser.isolated_page()  # the shop owner reads it on the analytics page
            try:
                await sign_in(owner, stack, "admin", ADMIN_PASSWORD)
                await owner.goto(f"{stack.settings.console_url}/analytics")
                panel = "document.querySelector('.low-ratings')"
                await owner.wait_for(f"{panel}.textContent.includes('my refund is still missing')")
                await owner.js(f"{panel}.scrollIntoView()")
                await owner.screenshot(SHOTS / "analytics-low-ratings.png")
            finally:
                await owner.close()
        finally:
            await page.close()
    try:
        run(scenario())
    finally:
        set_everyone_offline(stack)
