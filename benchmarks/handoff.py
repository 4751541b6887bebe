"""Live handoff on loopback: relay latency agent -> visitor and visitor -> agent, and claims per second
with 10 agents racing for the queue through the console's API."""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Dict, List

import aiohttp
import socketio

from benchmarks.stats import heading, percentile, summary_ms
from bot.channels.limits import RATE_WINDOW_SECONDS
from bot.handoff.queue import Handoff, HandoffQueue
from bot.runner import Stack
from bot.settings import Settings

RACERS = 10
PACE_SECONDS = 0.3  # between a visitor's messages: people type for seconds; back-to-back bursts queue up
# behind Rasa's own (synchronous) tracker writes for the previous message and measure those instead
SEATS = 20  # per agent: the console's maximum


class Agent:
    def __init__(self, console_url: str, http: aiohttp.ClientSession, csrf: str) -> None:
        self.base, self.http, self.csrf = console_url, http, csrf

    @classmethod
    async def sign_in(cls, console_url: str, username: str, password: str) -> Agent:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with http.post(f"{console_url}/api/login", json={"username": username, "password": password}) as r:
            assert r.status == 200, await r.text()
            agent = cls(console_url, http, (await r.json())["csrf"])
        await agent.call("POST", "/api/presence", {"status": "available"})
        return agent

    async def call(self, method: str, path: str, body=None):
        async with self.http.request(method, self.base + path, json=body, headers={"X-CSRF-Token": self.csrf}) as r:
            return r.status, await r.json()

    async def close(self) -> None:
        await self.http.close()


async def make_agents(console_url: str, password: str, count: int) -> List[Agent]:
    admin = await Agent.sign_in(console_url, "admin", password)
    names = [f"bench{i}-{uuid.uuid4().hex[:6]}" for i in range(count)]
    for name in names:
        status, body = await admin.call("POST", "/api/users", {"username": name, "password": "bench-password-1",
                                                               "name": name, "max_chats": SEATS})
        assert status == 201, body
    await admin.close()
    return [await Agent.sign_in(console_url, name, "bench-password-1") for name in names]


async def relay(stack: Stack, password: str, n: int, pace: float = PACE_SECONDS, burst: int = 0) -> tuple:
    """Relay latencies each way; with `burst`, the visitor sends that many messages `pace` apart, then waits out
    the widget's rate window (as many as one visitor may send at once)."""
    agent = (await make_agents(stack.settings.console_url, password, 1))[0]
    visitor, got, cid = await visitor_with_agent(stack, agent)
    to_visitor = await agent_to_visitor(agent, got, cid, n, pace)
    to_agent = await visitor_to_agent(agent, visitor, n, pace, burst)
    await agent.call("POST", f"/api/conversations/{cid}/handback", {})
    await visitor.disconnect()
    await agent.close()
    return to_visitor, to_agent


async def visitor_with_agent(stack: Stack, agent: Agent) -> tuple:
    """A widget visitor who asked for a person and whom `agent` claimed: (the client, its bot_uttered queue, the id)."""
    visitor = socketio.AsyncClient(reconnection=False)
    got: asyncio.Queue = asyncio.Queue()
    visitor.on("bot_uttered", lambda data: got.put_nowait((time.perf_counter(), data)))  # when it arrived
    confirmed = asyncio.Event()
    session: Dict[str, str] = {}

    def on_confirm(sid: str) -> None:
        session["id"] = sid
        confirmed.set()
    visitor.on("session_confirm", on_confirm)
    await visitor.connect(stack.settings.rasa_url, headers={"Origin": stack.settings.allowed_origins[0]},
                          transports=["websocket"], wait_timeout=30)
    await visitor.emit("session_request", {})
    await asyncio.wait_for(confirmed.wait(), 30)
    await visitor.emit("user_uttered", {"message": "I want to talk to a person"})
    await asyncio.wait_for(got.get(), 60)  # "connecting you..."
    status, body = await agent.call("POST", f"/api/conversations/{session['id']}/claim")
    assert status == 200, body
    return visitor, got, session["id"]


async def agent_to_visitor(agent: Agent, got: asyncio.Queue, cid: str, n: int, pace: float) -> List[float]:
    """Seconds from the agent's POST to the visitor's socket.io client, for n replies after 10 to warm up."""
    latencies = []
    for i in range(n + 10):
        start = time.perf_counter()  # the reply reaches the widget first; the transcript is written after
        await agent.call("POST", f"/api/conversations/{cid}/messages", {"text": f"agent line {i}"})
        while True:
            arrived, data = await asyncio.wait_for(got.get(), 10)
            if data.get("text") == f"agent line {i}":
                break
        if i >= 10:
            latencies.append(arrived - start)
        await asyncio.sleep(pace)
    return latencies


async def visitor_to_agent(agent: Agent, visitor: socketio.AsyncClient, n: int, pace: float, burst: int) -> List[float]:
    """Seconds from the visitor's emit to the agent's event stream, for n messages after 10 to warm up."""
    seen: asyncio.Queue = asyncio.Queue()
    subscribed = asyncio.Event()

    async def stream():
        async with agent.http.get(f"{agent.base}/api/events", timeout=aiohttp.ClientTimeout(total=None)) as r:
            async for line in r.content:
                subscribed.set()  # the console sends its first line once it listens to the queue's events
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    if event.get("type") == "message" and event.get("sender") == "visitor":
                        seen.put_nowait((time.perf_counter(), event["text"]))
    reader = asyncio.create_task(stream())
    await asyncio.wait_for(subscribed.wait(), 30)
    latencies = []
    for i in range(n + 10):
        start = time.perf_counter()
        await visitor.emit("user_uttered", {"message": f"visitor line {i}"})
        while True:
            at, text = await asyncio.wait_for(seen.get(), 10)
            if text == f"visitor line {i}":
                break
        if i >= 10:
            latencies.append(at - start)
        await asyncio.sleep(pace)
        if burst and (i + 1) % burst == 0:
            await asyncio.sleep(RATE_WINDOW_SECONDS)
    reader.cancel()
    return latencies


async def claim_race(stack: Stack, password: str) -> tuple:
    agents = await make_agents(stack.settings.console_url, password, RACERS)
    queue = HandoffQueue.from_url(stack.settings.redis.url())
    cids = [f"bench-race-{uuid.uuid4().hex}" for _ in range(RACERS * SEATS)]
    for cid in cids:
        await queue.enqueue(Handoff(cid))

    async def race(agent: Agent) -> List[str]:
        won: List[str] = []
        while True:
            status, body = await agent.call("POST", "/api/queue/next")
            if status != 200:
                return won
            won.append(body["conversation"]["conversation_id"])

    start = time.perf_counter()
    results = await asyncio.gather(*(race(a) for a in agents))
    elapsed = time.perf_counter() - start
    claimed = [c for r in results for c in r if c in cids]
    for agent, won in zip(agents, results, strict=True):
        status, me = await agent.call("GET", "/api/me")
        for cid in won:  # these visitors are made up: free the seats without waking the bot
            await queue.hand_back(cid, me["user"]["username"])
        await agent.close()
    await queue.close()
    return len(claimed), len(set(claimed)), len(cids), elapsed, [len(r) for r in results]


def report(stack: Stack, admin_password: str, n: int = 200) -> None:
    rate = Settings.widget_rate  # the default limit (the bench stack lifts it, to measure the stress case too)
    for pace, burst, what in (
            (PACE_SECONDS, 0, "one message every 0.3 s"),
            (0.01, rate, f"visitor bursts of {rate} back-to-back, as many as the widget accepts per {RATE_WINDOW_SECONDS} s"),
            (0.01, 0, "stress: 100 messages/s from one visitor, far past the widget's rate limit")):
        heading(f"Live handoff relay on loopback, {n} messages each way, {what}")
        to_visitor, to_agent = asyncio.run(relay(stack, admin_password, n, pace, burst))
        print(f"  agent -> visitor (console API -> Redis -> socket.io): {summary_ms(to_visitor)}  (target p95 < 50 ms)")
        print(f"  visitor -> agent (socket.io -> Redis -> SSE):          {summary_ms(to_agent)}  (target p95 < 50 ms)")
        print(f"  p95 ratio to target: {percentile(to_visitor, 95) * 1000 / 50:.2f} and "
              f"{percentile(to_agent, 95) * 1000 / 50:.2f}")
    heading(f"Claims with {RACERS} agents racing through the console API ({SEATS} seats each)")
    claimed, unique, offered, elapsed, spread = asyncio.run(claim_race(stack, admin_password))
    print(f"  {claimed} claims of {offered} waiting in {elapsed:.2f} s: {claimed / elapsed:.0f} claims/s; "
          f"claimed twice: {claimed - unique}; per agent: {spread}")
