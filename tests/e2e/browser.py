"""A minimal headless Chromium driver over the DevTools protocol: no browser download, no extra package.

Debian's /usr/bin/chromium, started with the flags this machine needs; pages are driven with
JavaScript and looked at with screenshots.
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

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
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
    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.ids = itertools.count(1)

    async def open(self) -> None:
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(self.ws_url, max_msg_size=64 * 1024 * 1024)

    async def send(self, method: str, **params):
        msg_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads((await self.ws.receive()).data)
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply.get("result", {})

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


async def sign_in(page, stack, username, password):
    await page.goto(f"{stack.settings.console_url}/login")
    await page.js(f"document.getElementById('username').value={username!r};"
                  f"document.getElementById('password').value={password!r};"
                  "document.getElementById('login').requestSubmit()")
    await page.wait_for("location.pathname === '/' && document.getElementById('me').textContent.length > 0")
