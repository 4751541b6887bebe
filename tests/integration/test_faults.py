"""Faults against the cluster (bot.cluster: two Rasa replicas, the action server and the console behind nginx),
each showing that nothing is lost and the visitor is told clearly: a replica killed while visitors chat, two
messages of one conversation at the same moment on different replicas, Redis restarted, PostgreSQL unreachable
for 30 s, the console killed while an agent chats, floods and oversized frames. (An action server killed
mid-turn and an action slower than the turn budget: tests/integration/test_turn_budget.py, the same code path.)

The module has a cluster of its own: its own Redis (embedded, with AOF, so a test can restart it) and the test
PostgreSQL reached through a TcpProxy, which a test takes down; so it needs PostgreSQL (TEST_DATABASE_URL)."""
import asyncio
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bot.cluster import Cluster
from bot.embedded_redis import EmbeddedRedis
from bot.settings import Settings
from tests.conftest import ADMIN_PASSWORD, free_port
from tests.integration.conftest import make_agent
from tests.integration.test_cluster import Visitor
from tests.integration.test_touchpoints import rows_of
from tests.tcp_proxy import TcpProxy, through

pytestmark = pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
                                reason="no nginx (.ci/run installs Debian's)")

RETRY = 8.0  # DATABASE_RETRY_SECONDS here: shorter than the outage, so one message fails and a later one waits
OUTAGE = 30.0
TIMEOUT = 40  # a visitor waits this long for an answer: a turn may wait RETRY for the database
HOURS, GIFT, AUSTRIA = "what are your opening hours", "do you sell gift cards", "do you ship to Austria"
PERSON = "I want to talk to a person"


class Faulty:
    def __init__(self, cluster, redis_server, proxy, database_url):
        self.cluster, self.redis_server, self.proxy, self.database_url = cluster, redis_server, proxy, database_url

    def restart_redis(self):
        self.redis_server.stop()  # SIGTERM: the AOF is flushed, as a restart by systemd or compose
        self.redis_server.start()

    def visitor(self, url=None):
        visitor = Visitor(self.cluster)
        visitor.timeout = TIMEOUT
        if url:
            visitor.url = url
        return visitor.connect()

    def events(self, sender):
        """The conversation's tracker, read from replica 2 (the replicas share it)."""
        url = f"{self.cluster.replica_urls[1]}/conversations/{sender}/tracker"
        answer = requests.get(url, params={"token": self.cluster.settings.rasa_token}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]

    def said(self, sender):
        """What the visitor typed (not buttons, nor the console's EXTERNAL: intents such as a hand-back)."""
        return [e["text"] for e in self.events(sender)
                if e["event"] == "user" and not e["text"].startswith(("/", "EXTERNAL:"))]

    def logs(self):
        return "".join((self.cluster.log_dir / f"{name}.log").read_text(errors="replace") for name in ("rasa-1", "rasa-2"))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a database server to take down: PostgreSQL (TEST_DATABASE_URL, as .ci/run sets)")
    var = Path(tmp_path_factory.mktemp("faults"))
    url = sa.engine.make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    redis_server = EmbeddedRedis(var / "redis", free_port(), password=uuid.uuid4().hex).start()
    settings = Settings(
        actions_port=free_port(), console_port=free_port(), redis_url=redis_server.url,
        database_url=through(proxy, database_url), database_retry_seconds=RETRY, handoff_max_wait=3600,
        console_admin_password=ADMIN_PASSWORD, demo_data=False, var_dir=var / "var",
        # every test visitor comes from loopback: the per-address limits are the unit tests' (tests/unit)
        widget_address_rate=100_000, widget_session_rate=100_000, widget_max_connections_per_ip=1000,
    )
    try:
        with Cluster(settings, replicas=2) as cluster:
            yield Faulty(cluster, redis_server, proxy, database_url)
    finally:
        proxy.close()
        redis_server.stop()


def texts(answers):
    return [a.get("text", "") for a in answers]


def eventually(check, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, requests.RequestException):
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:g} s")
        time.sleep(0.5)


def test_a_replica_killed_while_visitors_chat_they_resume_on_the_other_with_their_history(faulty):
    cluster = faulty.cluster

    async def scenario():
        visitors = [await faulty.visitor() for _ in range(8)]  # nginx spreads new websockets over both replicas
        sessions = [await v.start() for v in visitors]
        for v in visitors:
            assert "Torstrasse" in texts(await v.say(HOURS))[0]
        await asyncio.to_thread(cluster.kill, "rasa-1")
        for _ in range(100):  # the kernel closes the killed process's sockets; the clients notice within moments
            if any(not v.sio.connected for v in visitors):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # and the rest of them
        cut = [not v.sio.connected for v in visitors]
        resumed = []
        for v, (session_id, token), lost in zip(visitors, sessions, cut, strict=True):
            if lost:  # the widget reconnects (through nginx, now to rasa-2) and resumes with its token
                await v.close()
                v = await faulty.visitor()
                assert (await v.start(session_id=session_id, session_token=token))[0] == session_id
                history = await v.wait_for("history")
                assert [m["text"] for m in history["messages"] if m["sender"] == "visitor"] == [HOURS]
                assert any("Torstrasse" in m["text"] for m in history["messages"] if m["sender"] == "bot")
            resumed.append(v)
        for v in resumed:
            assert "gift" in texts(await v.say(GIFT))[0].lower()
            await v.close()
        return [s for s, _ in sessions], cut

    try:
        senders, cut = asyncio.run(scenario())
    finally:
        cluster.restart("rasa-1")
    assert any(cut) and not all(cut), f"connections cut by the kill: {cut}"  # some on each replica
    for sender in senders:
        assert faulty.said(sender) == [HOURS, GIFT]  # each message once, none lost


def test_two_messages_of_one_conversation_at_once_on_two_replicas_are_both_answered_in_turn(faulty):
    cluster = faulty.cluster

    async def scenario():
        tab_a = await faulty.visitor(cluster.replica_urls[0])
        session_id, token = await tab_a.start()
        tab_b = await faulty.visitor(cluster.replica_urls[1])
        await tab_b.start(session_id=session_id, session_token=token)
        mark = len(tab_a.events)
        await asyncio.gather(tab_a.sio.emit("user_uttered", {"message": HOURS}),
                             tab_b.sio.emit("user_uttered", {"message": AUSTRIA}))
        for _ in range(int(TIMEOUT / 0.1)):
            answers = [d["text"] for n, d in tab_a.events[mark:] if n == "bot_uttered"]
            if any("Torstrasse" in a for a in answers) and any("Austria" in a for a in answers):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"both questions not answered: {tab_a.events[mark:]}")
        assert not [d for n, d in tab_a.events[mark:] + tab_b.events if n == "notice"]
        await tab_a.close()
        await tab_b.close()
        return session_id

    sender = asyncio.run(scenario())
    turns = [e["event"] for e in faulty.events(sender) if e["event"] in ("user", "bot")]
    while turns and turns[0] == "bot":  # the greeting, if any
        turns.pop(0)
    first_reply = turns.index("bot")
    assert turns.count("user") == 2 and turns.index("user", 1) > first_reply, turns  # one turn, then the other
    assert sorted(faulty.said(sender)) == sorted([HOURS, AUSTRIA])


async def shown(visitor, text, after):
    """The widget shows `text`: it came live (bot_uttered), or in a history that replaced what was shown."""
    for _ in range(int(TIMEOUT / 0.1)):
        for name, data in visitor.events[after:]:
            if name == "bot_uttered" and data.get("text") == text:
                return "live"
            if name == "history" and any(m["text"] == text for m in data["messages"]):
                return "resync"
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} never shown; got {visitor.events[after:]}")


async def waiting_visitor(faulty):
    """A visitor who asked for a person and is in line (an agent is on shift)."""
    visitor = await faulty.visitor()
    session_id, _ = await visitor.start()
    assert any("in line" in t for t in texts(await visitor.say(PERSON)))
    return visitor, session_id


def test_redis_restarted_the_queue_sessions_and_locks_recover(faulty):
    cluster = faulty.cluster
    agent = make_agent(cluster, f"rita{uuid.uuid4().hex[:6]}", max_chats=5)

    async def scenario():
        visitor, session_id = await waiting_visitor(faulty)
        await asyncio.to_thread(faulty.restart_redis)

        def queued():  # the agent's login and the queue entry survived (AOF); the console reconnected
            waiting = agent.call("GET", "/api/queue")["waiting"]
            return any(h["conversation_id"] == session_id for h in waiting)
        await asyncio.to_thread(eventually, queued, 30, "the queue entry after the restart")
        mark = len(visitor.events)
        await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session_id}/claim")
        await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session_id}/messages", {"text": "Rita here"})
        await shown(visitor, "Rita here", mark)  # live, or in the resync after the replica re-subscribed
        mark = len(visitor.events)
        await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session_id}/handback", {})
        assert "back with me" in (await visitor.wait_for("bot_uttered", after=mark))["text"]  # a turn: locks work
        await visitor.close()
        newcomer = await faulty.visitor()  # a new connection (its limits are checked in Redis) and session
        await newcomer.start()
        answered = await newcomer.say(HOURS)
        await newcomer.close()
        return session_id, answered

    session_id, answered = asyncio.run(scenario())
    assert any("Torstrasse" in t for t in texts(answered)), answered
    assert faulty.said(session_id) == [PERSON]


def test_postgresql_down_for_30_seconds_a_turn_waits_or_the_visitor_is_told_and_nothing_is_kept_twice(faulty):
    async def scenario():
        visitor = await faulty.visitor()
        session_id, _ = await visitor.start()
        assert "gift" in texts(await visitor.say(GIFT))[0].lower()
        faulty.proxy.down()
        down = time.monotonic()
        try:
            failed = await visitor.say(HOURS)  # waits RETRY for the database, then is told
            told_after = time.monotonic() - down
            await asyncio.sleep(max(0.0, OUTAGE - RETRY / 2 - (time.monotonic() - down)))
            waiting = asyncio.create_task(visitor.say(AUSTRIA))  # sent while it is still down: waits for it
            await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down)))
        finally:
            faulty.proxy.up()
        waited = await waiting
        answered_after = time.monotonic() - down
        again = await visitor.say(HOURS)
        await visitor.close()
        return session_id, failed, told_after, waited, answered_after, again

    session_id, failed, told_after, waited, answered_after, again = asyncio.run(scenario())
    assert [a.get("code") for a in failed] == ["not_saved"] and "send it again" in failed[0]["text"]
    assert RETRY - 1 < told_after < RETRY + 5
    assert any("Austria" in t for t in texts(waited)) and OUTAGE <= answered_after < OUTAGE + RETRY
    assert any("Torstrasse" in t for t in texts(again))
    assert faulty.said(session_id) == [GIFT, AUSTRIA, HOURS]  # the refused one is not kept; nothing twice
    logs = faulty.logs()
    assert "database unreachable" in logs and "done after the database came back" in logs

    def written():  # the touchpoints of the outage are written once the database is back, each once
        rows = rows_of(faulty.database_url, session_id)
        said = [r["text"] for r in rows if r["type"] == "message" and r["text"] in (GIFT, AUSTRIA, HOURS)]
        return rows if said == [GIFT, AUSTRIA, HOURS] else None
    rows = eventually(written, 30, "the touchpoints after the outage")
    assert any(r["type"] == "error" and "not_saved" in str(r["meta"]) for r in rows)


def test_the_console_killed_while_an_agent_chats_loses_no_message(faulty):
    cluster = faulty.cluster
    agent = make_agent(cluster, f"kora{uuid.uuid4().hex[:6]}", max_chats=5)

    async def scenario():
        visitor, session_id = await waiting_visitor(faulty)
        await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session_id}/claim")
        await asyncio.to_thread(cluster.kill, "console")
        mark = len(visitor.events)
        for text in ("hello?", "are you still there?"):
            await visitor.sio.emit("user_uttered", {"message": text})
        await asyncio.sleep(1.0)
        assert [d for n, d in visitor.events[mark:] if n == "notice"] == []  # the console is not in the path
        await asyncio.to_thread(cluster.restart, "console")
        view = await asyncio.to_thread(agent.call, "GET", f"/api/conversations/{session_id}")  # still signed in
        seen = [t["text"] for t in view["transcript"] if t["sender"] == "visitor"]
        mark = len(visitor.events)
        await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session_id}/messages", {"text": "Yes, Kora here"})
        reply = await visitor.wait_for("bot_uttered", after=mark)
        await asyncio.to_thread(agent.call, "POST", f"/api/conversations/{session_id}/handback", {})
        await visitor.close()
        return session_id, seen, reply

    session_id, seen, reply = asyncio.run(scenario())
    assert seen[-2:] == ["hello?", "are you still there?"]
    assert reply["text"] == "Yes, Kora here"
    assert faulty.said(session_id)[-2:] == ["hello?", "are you still there?"]


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_floods_and_oversized_frames_are_throttled_and_memory_stays_flat(faulty):
    cluster = faulty.cluster
    settings = cluster.settings
    pids = [cluster.child(name).started.pid for name in ("rasa-1", "rasa-2")]

    async def flood(round_):
        visitors = [await faulty.visitor() for _ in range(5)]
        counts = []
        for v in visitors:
            await v.start()
            too_long = await v.say("x" * (settings.widget_max_message_bytes + 1))
            assert [a.get("code") for a in too_long] == ["too_long"]
            mark = len(v.events)
            for i in range(settings.widget_rate * 3):
                await v.sio.emit("user_uttered", {"message": f"flood {round_} {i}"})
            counts.append(mark)
        for v, mark in zip(visitors, counts, strict=True):
            notice = await v.wait_for("notice", after=mark)
            assert notice["code"] == "rate_limited"
        giant = visitors[0]  # a frame past the socket's limit: the server closes that socket, nothing else
        await giant.sio.emit("user_uttered", {"message": "y" * (settings.max_request_bytes * 2)})
        for _ in range(100):
            if not giant.sio.connected:
                break
            await asyncio.sleep(0.1)
        closed = not giant.sio.connected
        for v in visitors:
            await v.close()
        return closed

    closed = asyncio.run(flood(0))  # the first round warms up what stays (buffers, caches)
    time.sleep(2)
    before = [rss_mb(pid) for pid in pids]
    for round_ in range(1, 4):
        assert asyncio.run(flood(round_)) is True or closed
    time.sleep(2)
    after = [rss_mb(pid) for pid in pids]
    assert closed, "a frame twice the socket limit did not close the socket"
    growth = [a - b for a, b in zip(after, before, strict=True)]
    assert all(g < 40 for g in growth), f"replica RSS grew by {growth} MB over 3 floods (before {before})"

    async def afterwards():  # a rate-limited session is answered again once its window has passed
        visitor = await faulty.visitor()
        await visitor.start()
        answer = await visitor.say(HOURS)
        await visitor.close()
        return answer
    assert any("Torstrasse" in t for t in texts(asyncio.run(afterwards())))
