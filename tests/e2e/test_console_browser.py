"""The agent console as an agent uses it, in headless Chromium against the running stack: the reply box and
drafts, "is typing" in the widget, the transcript's event lines, alerts for new chats, and the console on a
phone. Screenshots go to test-artifacts/."""
import asyncio

from bot.handoff.queue import HandoffQueue
from bot.redis_keys import HANDOFF_HANDLED
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import (
    BOTS,
    NEEDS_CHROMIUM,
    SHOTS,
    asks_for_a_person,
    click_reply,
    painted,
    send_plain,
    session_of,
    sign_in,
    still_after,
    waiting_row,
)
from tests.integration.conftest import Chat, Console, make_agent, set_everyone_offline

pytestmark = NEEDS_CHROMIUM
TYPING = "!document.querySelector('.sc-typing').hidden"
REPLY_SHOWN = "document.getElementById('reply-form').checkVisibility()"  # on screen, its view too
# stand-ins for the browser's notifications and sound, which record what the console asked of them
ALERT_RECORDERS = """
window.__notes = []; window.__beeps = 0;
window.Notification = class { constructor(title, options) { window.__notes.push({title, body: options.body}); }
  static get permission() { return "granted"; } static requestPermission() { return Promise.resolve("granted"); } close() {} };
window.AudioContext = class { constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() {
    return {frequency: {setValueAtTime() {}}, connect: (n) => n, start() { window.__beeps += 1; }, stop() {}}; }
  createGain() { return {gain: {setValueAtTime() {}, exponentialRampToValueAtTime() {}}, connect: (n) => n}; }
  resume() { return Promise.resolve(); } };
document.hasFocus = () => false;  // the agent is looking at another tab
"""


def forget_handling_times(stack):
    async def clear():
        queue = HandoffQueue.from_url(stack.settings.redis.url())
        try:
            await queue.redis.delete(HANDOFF_HANDLED)
        finally:
            await queue.close()
    asyncio.run(clear())


async def type_reply(agent, text):
    await agent.js(f"var r=document.getElementById('reply'); r.focus(); r.value={text!r}; r.dispatchEvent(new Event('input'))")


def test_the_reply_box_drafts_and_typing_belong_to_the_agents_own_open_chat(stack, browser):
    set_everyone_offline(stack)
    olga_api = make_agent(stack, "olga", name="Olga", max_chats=5)  # her API session, beside her console tab

    async def scenario():
        first, second, agent = await browser.isolated_page(), await browser.isolated_page(), await browser.isolated_page()
        try:
            await sign_in(agent, stack, "olga", "olga-password-123")
            mine, other = await asks_for_a_person(first, stack), await asks_for_a_person(second, stack)
            row = waiting_row(mine)
            await agent.wait_for(row)
            await agent.js(f"{row}.querySelector('button').click()")
            await agent.wait_for(f"location.hash.includes({mine!r}) && {REPLY_SHOWN}")

            await type_reply(agent, "Draft for the first visitor")
            await first.wait_for(f"{TYPING} && document.querySelector('.sc-typing').textContent === 'Olga is typing…'")
            await agent.js("document.getElementById('reply').blur()")
            await first.wait_for(f"!({TYPING})", timeout=3)  # leaving the box stops it

            await agent.js(f"location.hash = '#/c/' + encodeURIComponent({other!r})")  # someone else's (waiting) chat
            await agent.wait_for("!document.getElementById('not-mine').hidden")
            assert not await agent.js(REPLY_SHOWN)  # no way to write to a chat that is not hers
            assert await agent.js("document.getElementById('reply').value") == ""
            await agent.screenshot(SHOTS / "console-not-mine.png")

            await agent.js(f"location.hash = '#/c/' + encodeURIComponent({mine!r})")
            await agent.wait_for(f"{REPLY_SHOWN} && document.getElementById('reply').value === 'Draft for the first visitor'")
            await agent.js("document.getElementById('reply').dispatchEvent(new Event('input'))")
            await first.wait_for(TYPING)
            await agent.js("document.getElementById('reply-form').requestSubmit()")
            await first.wait_for("document.querySelector('.sc-agent')")
            await first.wait_for(f"!({TYPING})", timeout=2)  # sending stops it
            # the visitor has the reply before the console has written it to the transcript (the relay goes first),
            # and the box empties when the send is done: waited for, not looked at once (that lost the race under load)
            await agent.wait_for("document.getElementById('reply').value === ''", timeout=10)

            await type_reply(agent, "Let me check")
            await first.wait_for(TYPING)
            await first.wait_for(f"!({TYPING})", timeout=6)  # a pause in typing stops it
            olga_api.call("POST", f"/api/conversations/{mine}/typing", {"on": True})  # and an "on" never followed by "off"
            await first.wait_for(TYPING)
            await first.wait_for(f"!({TYPING})", timeout=13)  # ...is forgotten by the widget
            await first.screenshot(SHOTS / "widget-typing-stopped.png")

            await agent.js("document.getElementById('handback-form').requestSubmit()")
            await agent.wait_for("document.getElementById('conv-state').textContent === 'closed'")
            assert not await agent.js(REPLY_SHOWN)  # a closed chat has no reply box
            await first.wait_for(f"{BOTS}.some(b => b.textContent.includes('How happy'))")
            await click_reply(first, "4")
            await first.wait_for(f"{BOTS}.some(b => b.textContent.includes('recommend us'))")
            await click_reply(first, "9")
            await first.wait_for(f"{BOTS}.some(b => b.textContent.includes('Thank you'))")

            await agent.js("location.hash = '#/queue'")
            await agent.js(f"location.hash = '#/c/' + encodeURIComponent({mine!r})")
            await agent.wait_for("document.getElementById('transcript').textContent.includes('Would recommend: 9/10')")
            lines = await agent.js("[...document.querySelectorAll('#transcript .system')].map(t => t.firstChild.textContent)")
            assert lines == ["Bot paused: a person has the chat", "Bot resumed", "Rated 4/5", "Would recommend: 9/10"]
            shown = await agent.js("document.getElementById('transcript').textContent")
            assert "EXTERNAL" not in shown and "nlu_fallback" not in shown and "handoff_finished" not in shown
            await agent.screenshot(SHOTS / "console-transcript-events.png")
            olga_api.call("POST", f"/api/conversations/{other}/claim")
            olga_api.call("POST", f"/api/conversations/{other}/handback", {})
        finally:
            for page in (first, second, agent):
                await page.close()
    asyncio.run(scenario())


def test_a_new_chat_is_heard_seen_and_counted_on_any_view_unless_the_agent_turns_alerts_off(stack, browser):
    set_everyone_offline(stack)
    forget_handling_times(stack)  # as before any chat was handled
    make_agent(stack, "pavel", name="Pavel", max_chats=5).call("POST", "/api/logout")

    async def scenario():
        first, second, agent = await browser.isolated_page(), await browser.isolated_page(), await browser.isolated_page()
        try:
            await agent.send("Page.enable")
            await agent.send("Page.addScriptToEvaluateOnNewDocument", source=ALERT_RECORDERS)
            await sign_in(agent, stack, "pavel", "pavel-password-123")
            await agent.wait_for("document.getElementById('handling').textContent.length > 0")
            assert await agent.js("document.getElementById('handling').textContent") == "no data yet"
            assert await agent.js("document.getElementById('alerts').checked")  # on unless the agent says no

            await agent.js("location.hash = '#/tickets'")  # looking at something else
            cid = await asks_for_a_person(first, stack)
            await agent.wait_for("window.__notes.length === 1")
            assert await agent.js("window.__notes[0].title") == "A visitor is waiting"
            assert await agent.js("window.__beeps") >= 1
            await agent.wait_for("document.title === '(1 waiting) Support console'")

            await agent.js(f"location.hash = '#/c/' + encodeURIComponent({cid!r})")
            await agent.wait_for("!document.getElementById('not-mine').hidden")
            await agent.js("document.getElementById('claim-this').click()")
            await agent.wait_for(REPLY_SHOWN)
            await agent.js("location.hash = '#/tickets'")
            await agent.wait_for("document.title === 'Support console'")
            await send_plain(first, "are you there?")
            await agent.wait_for("document.title === '(1 new) Support console'")  # her chat has news
            await agent.js(f"location.hash = '#/c/' + encodeURIComponent({cid!r})")
            await agent.wait_for("document.title === 'Support console'")  # read

            await agent.js("document.getElementById('alerts').click()")  # off, and it stays off
            await agent.js("location.reload()")
            await agent.wait_for("window.__beeps === 0 && document.getElementById('me').textContent.length > 0")
            assert not await agent.js("document.getElementById('alerts').checked")
            await asks_for_a_person(second, stack)
            await agent.wait_for("document.title === '(1 waiting) Support console'")
            await still_after(agent, "window.__notes.length === 0 && window.__beeps === 0", 0.5)
            await agent.screenshot(SHOTS / "console-alerts-off.png")
            pavel = make_agent(stack, "pavel", name="Pavel", max_chats=5)
            for visitor in (first, second):
                visitor_cid = await session_of(visitor)
                if visitor_cid != cid:
                    pavel.call("POST", f"/api/conversations/{visitor_cid}/claim")
                pavel.call("POST", f"/api/conversations/{visitor_cid}/handback", {})
        finally:
            for page in (first, second, agent):
                await page.close()
    asyncio.run(scenario())


PHONE = 390  # px: a phone's width (a mobile browser zooms out to show a wider page, so innerWidth would grow)


async def fits_the_phone(page, name):
    await page.screenshot(SHOTS / f"console-phone-{name}.png")
    width = await page.js("document.documentElement.scrollWidth")
    assert width <= PHONE, f"{name}: the page is {width} px wide on a {PHONE} px screen"
    header = await page.js("document.querySelector('header.top').getBoundingClientRect().height")
    assert header < 90, f"{name}: the header takes {header} px"


def leave_a_ticket(stack):
    """A message left while nobody is on shift, from a long email address (a ticket in the console)."""
    chat = Chat(stack)
    assert "leave a message" in chat.text("can I talk to a real person please")
    chat.say("yes")
    chat.say("annamarielongnamefortestingpurposes@subdomainofexampleshop.com")
    assert "reference T-" in chat.text("My parcel 204518 arrived with a broken lid and I'd like a replacement")


def test_the_console_is_usable_on_a_phone(stack, browser):
    set_everyone_offline(stack)
    leave_a_ticket(stack)

    async def scenario():
        visitor, admin = await browser.isolated_page(), await browser.isolated_page()
        try:
            await admin.viewport(PHONE, 844, mobile=True)
            await sign_in(admin, stack, "admin", ADMIN_PASSWORD)
            cid = await asks_for_a_person(visitor, stack)
            row = waiting_row(cid)
            await admin.wait_for(row)
            await painted(admin)
            await fits_the_phone(admin, "queue")
            claim = await admin.js(f"(() => {{ const r = {row}.querySelector('button').getBoundingClientRect();"
                                   " return [r.left, r.right, r.width, r.height]; })()")
            assert claim[0] >= 0 and claim[1] <= PHONE and claim[2] > 40 and claim[3] > 20, claim
            await admin.js(f"{row}.querySelector('button').click()")
            await admin.wait_for(REPLY_SHOWN)
            await fits_the_phone(admin, "conversation")
            reply = await admin.js("document.getElementById('send').getBoundingClientRect().right")
            assert reply <= PHONE
            for view, shown in (("tickets", "#tickets .ticket"), ("admin", "#users tr")):
                await admin.js(f"location.hash = '#/{view}'")
                await admin.wait_for(f"document.querySelector({shown!r})")
                await painted(admin)
                await fits_the_phone(admin, view)
            await admin.goto(f"{stack.settings.console_url}/analytics")
            await fits_the_phone(admin, "analytics")
        finally:
            await visitor.close()
            await admin.close()
        return cid
    Console(stack).call("POST", f"/api/conversations/{asyncio.run(scenario())}/handback", {})
