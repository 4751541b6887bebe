"""An agent in the console reads who is waiting and why, in words: a signed-in customer's name and email,
the order in question with its delivery day, its money as the shop writes it and a "late" flag, and each
frustration signal once. Screenshots go to test-artifacts/."""
import asyncio

from bot.orders.present import day
from bot.orders.sql import SqlOrders
from tests.e2e.browser import NEEDS_CHROMIUM, SHOTS, sign_in
from tests.integration.conftest import Chat, Console, make_agent, set_everyone_offline
from tests.integration.test_console_context import late_order, release
from tests.integration.test_handoff_flow import signed_chat

pytestmark = NEEDS_CHROMIUM
TEXT = "document.getElementById({!r}).innerText"


def test_the_agent_sees_the_customer_the_late_order_and_the_reasons_in_words(stack, browser):
    set_everyone_offline(stack)
    make_agent(stack, "paula", name="Paula").call("POST", "/api/logout")  # the account; she signs in below
    shop = SqlOrders(stack.settings.sql_url)
    try:
        order, guest_order = late_order(shop), late_order(shop)
        record = shop.customer(order.customer_id)
    finally:
        shop.close()
    chat, guest = signed_chat(stack, order.customer_id), Chat(stack)

    async def scenario():
        agent = await browser.isolated_page()
        try:
            await sign_in(agent, stack, "paula", "paula-password-123")
            await agent.wait_for("document.getElementById('agents').textContent.includes('Paula')")
            await asyncio.to_thread(chat.say, f"where is my order {order.number}")
            await asyncio.to_thread(chat.say, "this is ridiculous!!! I want to talk to a human")

            row = (f"[...document.querySelectorAll('#waiting tr')]"
                   f".find(tr => tr.querySelector('a').href.includes({chat.sender!r}))")
            await agent.wait_for(row)
            queued = await agent.js(f"{row}.innerText")
            assert "Where is my order" in queued and "orders" in queued and "angry words" in queued, queued
            await agent.screenshot(SHOTS / "console-queue-reasons.png")

            await agent.js(f"{row}.querySelector('button').click()")
            await agent.wait_for("location.hash.startsWith('#/c/') && document.querySelector('#customer .customer-name')")
            customer = await agent.js(TEXT.format("customer"))
            assert record.name in customer and record.email in customer and order.customer_id in customer, customer
            assert f"#{order.number}" in customer and "23.90 EUR" in customer and "late" in customer
            assert f"expected {day(order.expected_delivery)}" in customer, customer
            orders = await agent.js(TEXT.format("orders"))
            assert "23.90 EUR" in orders and "late" in orders and "23.9 EUR" not in orders, orders
            why = await agent.js(TEXT.format("signals"))
            assert "asked about: where is my order · team orders" in why, why  # labels.yml, not the intent name
            shown = await agent.js("[...document.querySelectorAll('#signals li')].map(li => li.firstChild.textContent)")
            assert "angry words" in shown and "asks for a person" in shown and len(shown) == len(set(shown)), shown
            assert "message:" not in why and "human:" not in why
            assert await agent.js(TEXT.format("conv-title")) == record.name
            await agent.screenshot(SHOTS / "console-customer-context.png")
            await agent.js("document.getElementById('signals').scrollIntoView()")
            await agent.screenshot(SHOTS / "console-why-a-person.png")

            await asyncio.to_thread(guest.say, "where is my order?")  # a guest proves an order with its email
            await asyncio.to_thread(guest.say, f"{guest_order.number} {guest_order.email}")
            await asyncio.to_thread(guest.say, "I want to talk to a human")
            await agent.js(f"location.hash = '#/c/' + encodeURIComponent({guest.sender!r})")
            await agent.wait_for(f"document.getElementById('customer').innerText.includes('#{guest_order.number}')")
            seen = await agent.js(TEXT.format("customer"))
            assert f"Guest: proved order #{guest_order.number} with {guest_order.email}" in seen and "late" in seen, seen
            await agent.screenshot(SHOTS / "console-guest-context.png")
        finally:
            await agent.close()
    asyncio.run(scenario())
    paula = Console(stack, "paula", "paula-password-123")
    paula.call("POST", f"/api/conversations/{chat.sender}/handback", {})
    release(paula, guest.sender)  # nobody is left waiting for the tests after this one
    set_everyone_offline(stack)
