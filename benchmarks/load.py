"""Load on loopback: simulated visitors over socket.io at human pace and in bursts (FAQ, order and handoff
conversations), 5 simulated agents answering through the console's API; figures per run: throughput, latency
p50/p95/p99, errors, lost or duplicated messages (every message checked against its conversation's tracker),
CPU and memory per process over time. `make bench-load`; a few minutes in all."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import aiohttp
import socketio

from benchmarks import roundtrip
from benchmarks.handoff import Agent, make_agents
from benchmarks.processes import Sampler, cpu_seconds, describe
from benchmarks.stats import heading, percentile
from bot.cluster import Cluster
from bot.identity import sign
from bot.runner import Stack
from bot.settings import bench_database_url

PACE = (3.0, 8.0)  # seconds between a visitor's messages: people read, then type
BURST_SHARE = 0.15  # of messages sent right after the previous one, before its answer (a second thought)
BURST_GAP = 0.3
ANSWER_TIMEOUT = 30.0  # past it a message counts as lost
AGENT_TIMEOUT = 60.0
AGENTS = 5
FAQ = ["hi", "what are your opening hours", "how much is shipping", "do you ship abroad",
       "how can I pay", "thanks, bye"]
ORDER = ["hello", "where is my order", "when will my order arrive", "thank you"]
HANDOFF = ["hi", "I want to talk to a person"]  # then one line to the agent, then the rating
TO_AGENT = "my parcel arrived broken"
EXTERNAL = "EXTERNAL: "  # Rasa's text for an intent triggered through its API (the console's hand-back)
MIX = (("faq", 6), ("order", 3), ("handoff", 1))  # conversation kinds and their weights


def process_ids(stack: Stack) -> Dict[str, int]:
    """Each server's pid by name (a Cluster is a Stack), the embedded Redis's too when there is one."""
    pids = {c.name: c.started.pid for c in stack.children}
    if stack.redis and stack.redis.process:
        pids["redis"] = stack.redis.process.pid
    return pids


@dataclass
class Target:
    """Where the load goes: the widget's socket.io URL, the console, and Rasa's API for the trackers."""
    name: str
    rasa_url: str  # the widget's socket.io
    api_url: str  # Rasa's HTTP API (trackers; behind nginx it is not public)
    console_url: str
    rasa_token: str
    origin: str
    identity_secret: str
    admin_password: str
    pids: Dict[str, int]

    @classmethod
    def of_stack(cls, stack: Stack, password: str) -> Target:
        s = stack.settings
        return cls("single stack", s.rasa_url, s.rasa_url, s.console_url, s.rasa_token, s.allowed_origins[0],
                   s.identity_secret, password, process_ids(stack))

    @classmethod
    def of_cluster(cls, cluster: Cluster, password: str) -> Target:
        s = cluster.settings
        return cls(f"nginx + {cluster.replicas} Rasa replica(s)", cluster.url, cluster.replica_urls[0], cluster.url,
                   s.rasa_token, s.allowed_origins[0], s.identity_secret, password, process_ids(cluster))

    @property
    def replicas(self) -> List[str]:
        return [name for name in self.pids if name.lower().startswith("rasa")]


@dataclass
class Turn:
    sent: float
    ordinal: int  # among this conversation's messages the bot answers: its answer follows ordinal typing-ends
    answered: Optional[float] = None


@dataclass
class Results:
    latencies: List[float] = field(default_factory=list)
    conversations: List[Conversation] = field(default_factory=list)
    timeouts: int = 0
    errors: Counter = field(default_factory=Counter)
    timed_out: List[str] = field(default_factory=list)  # the first few: what each waited for


class Conversation:
    """One visitor's conversation over socket.io: what it sent, every event it got, and when."""

    def __init__(self, target: Target, kind: str, customer: Optional[str] = None) -> None:
        self.target, self.kind = target, kind
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: List[tuple] = []  # (arrival, name, data)
        self.sent: List[str] = []
        self.turns: List[Turn] = []
        self.session_id = ""
        self.ends = 0  # turns whose typing ended: the bot's answer to each is complete
        self.changed = asyncio.Event()  # set at every event: waiters wake on it instead of polling
        self.meta: Dict[str, dict] = {}
        if customer:
            self.meta = {"customer": {"id": customer, "signature": sign(customer, target.identity_secret)}}
        self.sio.on("*", self._record)

    async def _record(self, event: str, data=None) -> None:
        self.events.append((time.perf_counter(), event, data))
        self.changed.set()
        if event == "typing" and data == {"on": False, "who": "bot"}:
            self._ended()
        elif event == "bot_uttered":
            self._answered()

    def _ended(self) -> None:
        self.ends += 1

    def _answered(self) -> None:
        for turn in self.turns:  # the first answer after the previous turn ended belongs to this one
            if turn.answered is None and turn.ordinal == self.ends:
                turn.answered = time.perf_counter()

    async def open(self) -> None:
        await self.sio.connect(self.target.rasa_url, headers={"Origin": self.target.origin},
                               transports=["websocket"], wait_timeout=30)
        await self.sio.emit("session_request", {"metadata": self.meta} if self.meta else {})
        token = await self.wait(lambda n, d: n == "session_token", ANSWER_TIMEOUT)
        self.session_id = token["session_id"]

    async def say(self, text: str, answered: bool = True) -> Optional[Turn]:
        turn = Turn(time.perf_counter(), len(self.turns)) if answered else None
        if turn:
            self.turns.append(turn)
        self.sent.append(text)
        await self.sio.emit("user_uttered", {"message": text, **({"metadata": self.meta} if self.meta else {})})
        return turn

    async def until(self, done, timeout: float, what: str) -> None:
        """Wake at each event until done() holds; TimeoutError past `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not done():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.kind} {self.session_id}: {what} in {timeout:.0f} s")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    async def wait(self, match, timeout: float, after: int = 0):
        found: list = []

        def done() -> bool:
            found[:] = [d for _, n, d in self.events[after:] if match(n, d)][:1]
            return bool(found)
        await self.until(done, timeout, "nothing matched")
        return found[0]

    async def settle(self, turn: Turn) -> None:
        """Until the turn's answer is complete (its typing ended); TimeoutError past ANSWER_TIMEOUT."""
        await self.until(lambda: self.ends > turn.ordinal, ANSWER_TIMEOUT, "no answer")

    def bot_texts(self) -> List[str]:
        return [d.get("text", "") for _, n, d in self.events if n == "bot_uttered" and isinstance(d, dict)]

    async def close(self) -> None:
        await self.sio.disconnect()


async def pause(pace: Sequence[float]) -> None:
    if pace[1]:
        await asyncio.sleep(random.uniform(*pace))


async def talk(chat: Conversation, lines: Sequence[str], pace: Sequence[float]) -> None:
    """Say each line; most after the previous answer and a human pause, some in a burst right after it."""
    pending: List[Turn] = []
    for line in lines:
        turn = await chat.say(line)
        assert turn is not None
        pending.append(turn)
        if pace[1] and random.random() < BURST_SHARE:
            await asyncio.sleep(BURST_GAP)
            continue
        for waiting in pending:
            await chat.settle(waiting)
        pending = []
        await pause(pace)
    for waiting in pending:
        await chat.settle(waiting)


async def handoff_ending(chat: Conversation) -> None:
    """After asking for a person: the agent's reply, one line to them, then the bot's rating questions."""
    await chat.wait(lambda n, d: n == "bot_uttered" and "agent here" in str(d.get("text")), AGENT_TIMEOUT)
    await asyncio.sleep(random.uniform(1, 2))
    await chat.say(TO_AGENT, answered=False)
    mark = len(chat.events)
    await chat.wait(lambda n, d: n == "bot_uttered" and "How happy" in str(d.get("text")), AGENT_TIMEOUT, mark)
    for rating in ("5", "9"):
        # a person reads the question first; answering within a few ms of the hand-back can still be taken for
        # a line to the agent (the queue's state flips after the bot's question is sent: see the report)
        await asyncio.sleep(random.uniform(1, 2))
        turn = await chat.say(rating)
        assert turn is not None
        await chat.settle(turn)


async def conversation(target: Target, kind: str, pace: Sequence[float], results: Results) -> None:
    chat = Conversation(target, kind, customer="C00001" if kind == "order" else None)
    results.conversations.append(chat)
    try:
        await chat.open()
        await talk(chat, {"faq": FAQ, "order": ORDER, "handoff": HANDOFF}[kind], pace)
        if kind == "handoff":
            await handoff_ending(chat)
    except TimeoutError as err:
        results.timeouts += 1
        if len(results.timed_out) < 3:
            results.timed_out.append(f"{err} (sent {chat.sent[-2:]}, last heard {chat.bot_texts()[-1:]})")
    except Exception as err:  # a failed connection is a figure, not the end of the run
        results.errors[type(err).__name__] += 1
    finally:
        await chat.close()
        for code in (d.get("code") for _, n, d in chat.events if n == "notice" and isinstance(d, dict)):
            results.errors[f"notice {code}"] += 1  # the channel refused or failed a message: told, but an error


async def visitor(target: Target, until: float, pace: Sequence[float], kinds: Sequence[str], results: Results) -> None:
    """One visitor after another in this slot until the run ends: the number of slots is the concurrency."""
    weights = [w for k, w in MIX if k in kinds]
    while time.monotonic() < until:
        kind = random.choices([k for k, _ in MIX if k in kinds], weights)[0]
        await conversation(target, kind, pace, results)


async def read_the_visitor(agent: Agent, cid: str) -> None:
    """Until the visitor's line to the agent is in the transcript (AGENT_TIMEOUT at most): handing back before it
    would turn that line into an answer to the bot's rating question."""
    deadline = time.monotonic() + AGENT_TIMEOUT
    while time.monotonic() < deadline:
        status, view = await agent.call("GET", f"/api/conversations/{cid}")
        if status == 200 and any(t.get("sender") == "visitor" and t.get("text") == TO_AGENT for t in view["transcript"]):
            return
        await asyncio.sleep(0.5)


async def agent_loop(agent: Agent, visitors_done: asyncio.Event, handled: List[str]) -> None:
    """Claim the next waiting visitor, greet them, read a few seconds, hand back; until every visitor is done."""
    while not visitors_done.is_set():
        status, body = await agent.call("POST", "/api/queue/next")
        if status != 200:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(visitors_done.wait(), 0.5)
            continue
        cid = body["conversation"]["conversation_id"]
        await agent.call("POST", f"/api/conversations/{cid}/messages", {"text": "Hi, agent here. Let me look."})
        await read_the_visitor(agent, cid)
        await asyncio.sleep(random.uniform(1, 3))  # typing an answer
        await agent.call("POST", f"/api/conversations/{cid}/handback", {})
        handled.append(cid)

@dataclass
class Check:
    """Each conversation against its tracker: every message sent is there once, and every bot or agent line
    the tracker holds reached the visitor exactly once."""
    messages: int = 0
    lost: int = 0  # sent but not in the tracker, or in the tracker but never received
    duplicated: int = 0  # in the tracker twice, or received more often than the tracker holds it
    unread: int = 0  # conversations whose tracker could not be read
    examples: List[str] = field(default_factory=list)  # a few of the lost or duplicated, to look into


async def check(target: Target, conversations: Sequence[Conversation]) -> Check:
    result = Check()
    async with aiohttp.ClientSession() as http:
        for chat in conversations:
            if not chat.session_id:
                continue
            async with http.get(f"{target.api_url}/conversations/{chat.session_id}/tracker",
                                params={"token": target.rasa_token}) as response:
                if response.status != 200:
                    result.unread += 1
                    continue
                events = (await response.json())["events"]
            said = Counter(e.get("text") for e in events if e.get("event") == "user"
                           and not str(e.get("text")).startswith(EXTERNAL))  # the console's triggers, not the visitor
            compare(result, chat, got=said, expected=Counter(chat.sent))  # sent, so the tracker should hold it
            compare(result, chat, got=Counter(chat.bot_texts()),  # held, so the visitor should have it
                    expected=Counter(e.get("text") or "" for e in events if e.get("event") == "bot"))
    return result


def compare(result: Check, chat: Conversation, got: Counter, expected: Counter) -> None:
    lost, extra = expected - got, got - expected
    result.messages += sum(expected.values())
    result.lost += sum(lost.values())
    result.duplicated += sum(extra.values())
    for what, texts in (("lost", lost), ("duplicated", extra)):
        if texts and len(result.examples) < 3:
            result.examples.append(f"{what} in a {chat.kind} conversation: {list(texts)[:2]}")


@dataclass
class Run:
    name: str
    visitors: int
    seconds: float
    pace: Sequence[float] = PACE
    kinds: Sequence[str] = ("faq", "order", "handoff")


async def load(target: Target, run: Run, sampler: Sampler) -> tuple:
    """The run's visitors (ramped up over its first 10 s) and agents; the results, the window's samples, seconds."""
    results = Results()
    agents = await make_agents(target.console_url, target.admin_password, AGENTS) if "handoff" in run.kinds else []
    mark, start = sampler.mark(), time.monotonic()
    until = start + run.seconds
    handled: List[str] = []
    ramp = min(10.0, run.seconds / 4)

    done = asyncio.Event()

    async def slot(i: int) -> None:
        await asyncio.sleep(ramp * i / run.visitors)
        await visitor(target, until, run.pace, run.kinds, results)

    async def visitors() -> None:
        await asyncio.gather(*(slot(i) for i in range(run.visitors)))
        done.set()
    await asyncio.gather(visitors(), *(agent_loop(a, done, handled) for a in agents))
    elapsed = time.monotonic() - start
    window = sampler.window(mark)
    for agent in agents:
        await agent.close()
    results.latencies = [t.answered - t.sent for c in results.conversations for t in c.turns if t.answered]
    return results, window, elapsed


def figures(target: Target, run: Run, results: Results, window, elapsed: float, checked: Check) -> Dict[str, float]:
    ms = [x * 1000 for x in results.latencies]
    turns = len(ms)
    rasa = sum(cpu_seconds(window, name) for name in target.replicas)
    stack_cpu = sum(cpu_seconds(window, name) for name in target.pids if name != "load generator")
    print(f"  {turns} answers in {elapsed:.0f} s: {turns / elapsed:.1f} answers/s; "
          f"latency p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, p99 {percentile(ms, 99):.0f} ms, "
          f"max {max(ms, default=float('nan')):.0f} ms")
    print(f"  conversations {len(results.conversations)}; timeouts {results.timeouts}; errors {dict(results.errors) or 0}; "
          f"messages checked against trackers {checked.messages}: lost {checked.lost}, duplicated {checked.duplicated}"
          + (f", trackers unread {checked.unread}" if checked.unread else ""))
    for example in checked.examples + results.timed_out:
        print(f"    {example[:300]}")
    if turns:
        print(f"  CPU per answer: Rasa ({len(target.replicas)} process(es)) {1000 * rasa / turns:.1f} ms, "
              f"whole stack {1000 * stack_cpu / turns:.1f} ms "
              f"(limit of 2 cores by Rasa's share: {2 * turns / rasa if rasa else float('nan'):.0f} answers/s)")
    for line in describe(window):
        print(line)
    return {"answers_per_s": turns / elapsed, "p95_ms": percentile(ms, 95)}


RUNS = (
    Run("10 visitors at human pace", 10, 60),
    Run("200 visitors at human pace", 200, 60),
    Run("saturation: 40 visitors, no pause (FAQ and order)", 40, 30, pace=(0, 0), kinds=("faq", "order")),
)


async def measure(target: Target, runs: Sequence[Run] = RUNS) -> Dict[str, Dict[str, float]]:
    out = {}
    with Sampler({**target.pids, "load generator": os.getpid()}) as sampler:
        for run in runs:
            heading(f"Load on {target.name}: {run.name}, {run.seconds:.0f} s, {AGENTS if 'handoff' in run.kinds else 0} agents")
            results, window, elapsed = await load(target, run, sampler)
            out[run.name] = figures(target, run, results, window, elapsed, await check(target, results.conversations))
    return out


CLUSTER_RUNS = RUNS[1:]  # the 200 visitors and the saturation, through nginx


def on_cluster(replicas: int, database_url: str) -> Dict[str, Dict[str, float]]:
    """The same load through nginx to `replicas` Rasa processes, on PostgreSQL (a shared tracker store)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(roundtrip.bench_settings(Path(tmp)), database_url=database_url, demo_data=False)
        with Cluster(settings, replicas=replicas) as cluster:
            return asyncio.run(measure(Target.of_cluster(cluster, roundtrip.BENCH_ADMIN_PASSWORD), CLUSTER_RUNS))


def report() -> Dict[str, Dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        with Stack(roundtrip.bench_settings(Path(tmp))) as stack:
            out = asyncio.run(measure(Target.of_stack(stack, roundtrip.BENCH_ADMIN_PASSWORD)))
    ten, many = out[RUNS[0].name]["p95_ms"], out[RUNS[1].name]["p95_ms"]
    heading("Targets, single stack")
    print(f"  p95 at 200 visitors {many:.0f} ms (target < 300 ms); {many / ten:.1f}x its value at 10 (target <= 5x)")
    database_url = bench_database_url()
    if not database_url:
        heading("Cluster: skipped (set BENCH_DATABASE_URL to a PostgreSQL database the replicas share)")
        return out
    one, two = on_cluster(1, database_url), on_cluster(2, database_url)
    saturated = RUNS[2].name
    heading("Targets, cluster")
    rate1, rate2 = one[saturated]["answers_per_s"], two[saturated]["answers_per_s"]
    print(f"  throughput at saturation: 1 replica {rate1:.1f}/s, 2 replicas {rate2:.1f}/s: {rate2 / rate1:.2f}x "
          f"(target >= 1.6x; on 2 cores read it with the CPU per process above)")
    print(f"  p95 at 200 visitors: 1 replica {one[RUNS[1].name]['p95_ms']:.0f} ms, "
          f"2 replicas {two[RUNS[1].name]['p95_ms']:.0f} ms")
    return out


if __name__ == "__main__":
    report()
