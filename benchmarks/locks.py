"""The conversations' lock store raced by several OS processes, ours against Rasa's own RedisLockStore:
`python -m benchmarks.locks [--redis-url URL]` (default TEST_REDIS_URL's settings, else an embedded redis-server).

Two figures per store: the ticket race (processes issue tickets on a few conversations at once: how many numbers
were handed out twice) and turns (processes take turns on the conversations for a few seconds: turns per
process, LockErrors, the longest wait, turns/s, turns that overlapped another of the same conversation, tickets
served twice or out of order). tests/integration/test_lock_store.py calls the same harness for ours."""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

import redis
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_stores import PromptRedisLockStore
from bot.settings import RedisTarget

HOLD_SECONDS = 0.002  # a turn's work while it holds the lock


def make_store(kind: str, redis_url: str, prefix: str, lifetime: float) -> Any:
    target = RedisTarget.from_url(redis_url)
    if kind == "rasa":
        return RedisLockStore(host=target.host, port=target.port, db=target.db,
                              password=target.password or None, key_prefix=prefix)
    return PromptRedisLockStore(EndpointConfig(url=target.host, port=target.port, db=target.db,
                                               password=target.password or None, key_prefix=prefix,
                                               lock_lifetime=lifetime))


@dataclass
class Figures:
    issued: int = 0
    issued_twice: int = 0
    turns: List[int] = field(default_factory=list)  # per process
    lock_errors: int = 0
    longest_wait: float = 0.0
    seconds: float = 0.0
    overlaps: int = 0
    served_twice: int = 0
    out_of_order: int = 0
    unserved: int = 0  # tickets a turn was served with that the conversation's record lacks

    def show(self, name: str) -> str:
        rate = sum(self.turns) / self.seconds if self.seconds else 0.0
        return (f"  {name}: tickets issued twice {self.issued_twice} of {self.issued}; turns per process "
                f"{self.turns}; LockErrors {self.lock_errors}; longest wait {self.longest_wait:.2f} s; "
                f"{rate:.0f} turns/s; overlapping turns {self.overlaps}; served twice {self.served_twice}; "
                f"out of order {self.out_of_order}")


def _issue_worker(kind, url, prefix, conversations, count, start, out) -> None:
    store = make_store(kind, url, prefix, 30.0)
    start.wait()
    issued = [(cid, store.issue_ticket(cid, 30.0)) for _ in range(count) for cid in conversations]
    out.put(issued)


def ticket_race(kind: str, redis_url: str, processes: int = 6, conversations: int = 4, tickets: int = 900) -> Figures:
    """`processes` processes issue `tickets` tickets in all on `conversations` conversations, all at once."""
    prefix, cids = _names(conversations)
    issued = _run(processes, _issue_worker, (kind, redis_url, prefix, cids, tickets // processes // conversations))
    numbers = Counter(ticket for batch in issued for ticket in batch)
    _clean(redis_url, prefix)
    return Figures(issued=sum(numbers.values()), issued_twice=sum(n - 1 for n in numbers.values() if n > 1))


async def _turns(store, red, cid, until, lifetime, poll) -> Dict[str, Any]:
    done: Dict[str, Any] = {"turns": 0, "errors": 0, "wait": 0.0, "served": [], "overlaps": 0}
    while time.monotonic() < until:
        asked = time.monotonic()
        try:
            async with store.lock(cid, lifetime, wait_time_in_seconds=poll) as lock:
                done["wait"] = max(done["wait"], time.monotonic() - asked)
                if red.incr(f"{cid}:inside") > 1:
                    done["overlaps"] += 1
                red.rpush(f"{cid}:served", lock.now_serving)
                done["served"].append((cid, lock.now_serving))
                await asyncio.sleep(HOLD_SECONDS)
                red.decr(f"{cid}:inside")
                done["turns"] += 1
        except LockError:
            done["errors"] += 1
            done["wait"] = max(done["wait"], time.monotonic() - asked)
    return done


def _turn_worker(kind, url, prefix, conversations, seconds, lifetime, poll, start, out) -> None:
    store, red = make_store(kind, url, prefix, lifetime), redis.Redis.from_url(url)
    start.wait()
    until = time.monotonic() + seconds

    async def all_conversations():
        return await asyncio.gather(*(_turns(store, red, f"{prefix}:{c}", until, lifetime, poll)
                                      for c in conversations))
    out.put(asyncio.run(all_conversations()))


def turns(kind: str, redis_url: str, processes: int = 2, conversations: int = 1, seconds: float = 5.0,
          lifetime: float = 5.0, poll: float = 0.01) -> Figures:
    """Every process takes turns on every conversation for `seconds`; Rasa's store re-checks every `poll`."""
    prefix, cids = _names(conversations)
    started = time.monotonic()
    results = _run(processes, _turn_worker, (kind, redis_url, prefix, cids, seconds, lifetime, poll))
    figures = Figures(seconds=time.monotonic() - started)
    red = redis.Redis.from_url(redis_url)
    for per_process in results:
        figures.turns.append(sum(d["turns"] for d in per_process))
        figures.lock_errors += sum(d["errors"] for d in per_process)
        figures.longest_wait = max([figures.longest_wait] + [d["wait"] for d in per_process])
        figures.overlaps += sum(d["overlaps"] for d in per_process)
    for cid in cids:
        served = [int(t) for t in red.lrange(f"{prefix}:{cid}:served", 0, -1)]
        figures.issued += len(served)
        figures.served_twice += len(served) - len(set(served))
        figures.out_of_order += sum(1 for a, b in zip(served, served[1:], strict=False) if b <= a)
        mine = {t for per_process in results for d in per_process for c, t in d["served"] if c == f"{prefix}:{cid}"}
        figures.unserved += len(mine - set(served))
    _clean(redis_url, prefix)
    return figures


def _names(conversations: int):
    prefix = "bench" + uuid.uuid4().hex[:8]
    return prefix, [f"c{n}" for n in range(conversations)]


def _run(processes: int, worker, args) -> List[Any]:
    context = multiprocessing.get_context("spawn")  # no inherited Redis connections or threads
    start, out = context.Event(), context.Queue()
    workers = [context.Process(target=worker, args=(*args, start, out)) for _ in range(processes)]
    for process in workers:
        process.start()
    time.sleep(2.0)  # every process imported and connected: they start together
    start.set()
    results = [out.get(timeout=120) for _ in workers]
    for process in workers:
        process.join(10)
    return results


def _clean(redis_url: str, prefix: str) -> None:
    red = redis.Redis.from_url(redis_url)
    for key in red.scan_iter(f"{prefix}:*"):
        red.delete(key)


def report(redis_url: str, seconds: float = 5.0) -> None:
    print("== lock stores: 6 processes issue 900 tickets on 4 conversations ==", flush=True)
    for kind in ("rasa", "ours"):
        print(ticket_race(kind, redis_url).show(kind), flush=True)
    print(f"== lock stores: 2 processes take turns on 1 conversation for {seconds:.0f} s (lifetime 5 s) ==",
          flush=True)
    for kind in ("rasa", "ours"):
        print(turns(kind, redis_url, seconds=seconds).show(kind), flush=True)


def main() -> None:
    from bot.embedded_redis import EmbeddedRedis
    from bot.settings import targets_for_tests

    parser = argparse.ArgumentParser(prog="python -m benchmarks.locks")
    parser.add_argument("--redis-url", default=targets_for_tests()[1])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.redis_url:
        report(args.redis_url, args.seconds)
        return
    import socket
    import tempfile
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(Path(folder), port) as server:
        report(server.url, args.seconds)


if __name__ == "__main__":
    main()
