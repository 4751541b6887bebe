"""A minimal headless Chromium driver over the DevTools protocol: no browser download, no extra package.

Debian's /usr/bin/chromium, started with the flags this machine needs; pages are driven with
JavaScript and looked at with screenshots. Below the driver: what every browser test does with the widget
and the console (open the chat, send, sign in), each waiting for what it needs and no longer.
"""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import aiohttp
import pytest

from bot.settings import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NEEDS_CHROMIUM = pytest.mark.skipif(not CHROMIUM, reason="Debian's chromium is not installed (.ci/run installs it)")
SHOTS = ROOT / "test-artifacts"  # screenshots, for a person to look at
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync", "--window-size=1280,860"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self) -> None:
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        self.process = subprocess.Popen([CHROMIUM, *FLAGS, f"--remote-debugging-port={self.port}",
                                         f"--user-data-dir={self.profile}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def page(self) -> Page:
        deadline = time.monotonic() + 20
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as r:
                        target = await r.json()
                        break
                except aiohttp.ClientError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
        page = Page(target["webSocketDebuggerUrl"])
        await page.open()
        return page

    async def isolated_page(self) -> Page:
        """A page in a new browser context: its own cookies and storage, like a second browser."""
        await self.page()  # the browser is up
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{self.port}/json/version") as r:
                browser_ws = (await r.json())["webSocketDebuggerUrl"]
        control = Page(browser_ws)
        await control.open()
        try:
            context = (await control.send("Target.createBrowserContext"))["browserContextId"]
            target = (await control.send("Target.createTarget", url="about:blank", browserContextId=context))["targetId"]
        finally:
            await control.close()
        page = Page(f"ws://127.0.0.1:{self.port}/devtools/page/{target}")
        await page.open()
        return page

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    MAX_EVENTS_KEPT = 2000

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.ids = itertools.count(1)
        self.events: List[Dict[str, Any]] = []  # DevTools events (of the domains enabled), for next_event

    async def open(self) -> None:
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(self.ws_url, max_msg_size=64 * 1024 * 1024)

    async def send(self, method: str, **params):
        msg_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = self._keep(json.loads((await self.ws.receive()).data))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply.get("result", {})

    def _keep(self, message: Dict[str, Any]) -> Dict[str, Any]:
        if "method" in message:
            self.events = [*self.events[-self.MAX_EVENTS_KEPT:], message]
        return message

    async def next_event(self, method: str, matches: Callable[[Dict[str, Any]], bool] = lambda params: True,
                         timeout: float = 20) -> Dict[str, Any]:
        """The params of the first `method` event that matches and was not taken yet (its domain must be enabled
        first, e.g. Network.enable); waits for it if it has not arrived yet."""
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event["method"] == method and matches(event.get("params", {})):
                    del self.events[index]
                    return event.get("params", {})
            try:
                message = await asyncio.wait_for(self.ws.receive(), max(deadline - time.monotonic(), 0))
            except asyncio.TimeoutError:
                raise AssertionError(f"no {method} event within {timeout} s") from None
            self._keep(json.loads(message.data))

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def js(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if result.get("exceptionDetails"):
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # an element that is not there yet (a page still loading) counts as "not yet", not as an error
            value = await self.js(f"(() => {{ try {{ return Boolean({expression}); }} catch (e) {{ return false; }} }})()")
            if value:
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}")

    async def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)

    async def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    async def close(self) -> None:
        """Close the tab itself (its connections end, as when a person closes it), then our link to it."""
        try:
            await self.ws.send_str(json.dumps({"id": next(self.ids), "method": "Page.close", "params": {}}))
        except (ConnectionError, RuntimeError):
            pass
        await self.ws.close()
        await self.http.close()


def run(coro):
    return asyncio.run(coro)


# --- the widget, as a visitor uses it on the demo shop page ---------------------------------------------
BOTS = "[...document.querySelectorAll('.sc-bot')]"
LAST_BOT = f"{BOTS}.pop().textContent"
LAST_VISITOR = "[...document.querySelectorAll('.sc-visitor')].pop().firstChild.textContent"
BOT_DONE = "document.querySelector('.sc-typing').hidden"  # "typing" ends when the bot's whole turn has been sent
QUEUE_SHOWN = "document.querySelector('.sc-queue') && !document.querySelector('.sc-queue').hidden"
STORED_SESSION = "JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('shopchat:'))))"


async def forget_visitor(page, stack):
    """No stored session in this browser context: the next demo page is a new visitor's. Cleared before the page
    loads, not from the page (that raced: a page still starting its session stored it again after the clear)."""
    await page.send("Storage.clearDataForOrigin", origin=stack.settings.rasa_url,
                    storageTypes="local_storage,session_storage")


async def open_chat(page, stack, query=""):
    """The demo shop page as a new visitor (no stored session), with the chat opened and the greeting shown."""
    url = f"{stack.settings.rasa_url}/webhooks/widget/demo{query}"
    await forget_visitor(page, stack)
    await page.goto(url)
    await page.wait_for("document.querySelector('.sc-launch')")
    await page.js("document.querySelector('.sc-launch').click()")
    await page.wait_for(f"{BOTS}.length >= 1 && {BOT_DONE}")
    return url


async def type_and_send(page, text):
    await page.js(f"var i=document.querySelector('.sc-input'); i.value={text!r};"
                  " document.querySelector('.sc-form').requestSubmit()")


async def send(page, text):
    """A visitor message the bot answers: returns once the whole answer has arrived."""
    before = await page.js(f"{BOTS}.length")
    await type_and_send(page, text)
    await page.wait_for(f"{BOTS}.length > {before} && {BOT_DONE}")


async def send_plain(page, text):
    """A visitor message the bot will not answer (a person has the chat): wait for its bubble only."""
    before = await page.js("document.querySelectorAll('.sc-visitor').length")
    await type_and_send(page, text)
    await page.wait_for(f"document.querySelectorAll('.sc-visitor').length > {before}")


async def click_reply(page, title):
    """Click the quick reply with exactly this title."""
    await page.js(f"[...document.querySelectorAll('.sc-reply')].find(b => b.textContent === {title!r}).click()")


async def session_of(visitor):
    """The session id the widget keeps for this visitor."""
    return (await visitor.js(STORED_SESSION))["session_id"]


async def asks_for_a_person(visitor, stack):
    """A new visitor asks for a person and is put in the queue; their session id."""
    await open_chat(visitor, stack)
    await send(visitor, "I want to talk to a person")
    await visitor.wait_for(QUEUE_SHOWN)
    return await session_of(visitor)


async def still_after(page, expression, seconds):
    """`expression` is true now and stays true for `seconds`: for what must *not* happen (nothing arrives twice)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert await page.js(expression), f"no longer true: {expression}"
        await asyncio.sleep(0.05)


async def painted(page):
    """The page has laid out and painted what it shows now (two animation frames): for screenshots and sizes."""
    await page.js("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


# --- the console, as an agent uses it ----------------------------------------------------------------------
def waiting_row(cid):
    """The queue's row of this conversation, in the console."""
    return f"[...document.querySelectorAll('#waiting tr')].find(tr => tr.querySelector('a').href.includes({cid!r}))"


async def submit_sign_in(page, console_url, username, password):
    await page.goto(f"{console_url}/login")
    await page.js(f"document.getElementById('username').value={username!r};"
                  f"document.getElementById('password').value={password!r};"
                  "document.getElementById('login').requestSubmit()")


async def sign_in(page, stack, username, password):
    await submit_sign_in(page, stack.settings.console_url, username, password)
    await page.wait_for("location.pathname === '/' && document.getElementById('me').textContent.length > 0")
