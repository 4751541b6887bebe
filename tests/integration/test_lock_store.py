"""The conversations' lock store against a real Redis, raced by OS processes (benchmarks.locks's harness, which
shows Rasa's own store handing out duplicates): no ticket twice, first come first served, a dead holder skipped."""
import asyncio
import time
import uuid

from benchmarks.locks import make_store, ticket_race, turns


def test_processes_racing_for_tickets_never_get_the_same_one(redis_url):
    figures = ticket_race("ours", redis_url, processes=6, conversations=4, tickets=900)
    assert figures.issued == 6 * 4 * (900 // 24) and figures.issued_twice == 0


def test_two_processes_on_one_conversation_take_fair_turns_served_once_in_order(redis_url):
    figures = turns("ours", redis_url, processes=2, conversations=1, seconds=3.0, lifetime=5.0)
    total = sum(figures.turns)
    assert total > 20 and min(figures.turns) >= 0.3 * total, figures.turns
    assert figures.lock_errors == 0 and figures.overlaps == 0
    assert figures.served_twice == 0 and figures.out_of_order == 0 and figures.unserved == 0
    assert figures.issued == total
    assert figures.longest_wait < 2.5  # no stall near the 5 s lifetime


def test_a_holder_that_died_is_skipped_after_its_lifetime(redis_url):
    store = make_store("ours", redis_url, "test" + uuid.uuid4().hex[:6], lifetime=1.0)
    cid = "dead-holder"
    dead = store.issue_ticket(cid, 1.0)  # its replica was killed: never released

    async def next_turn():
        started = time.monotonic()
        async with store.lock(cid, 1.0, wait_time_in_seconds=10) as lock:
            return lock.now_serving, time.monotonic() - started

    served, waited = asyncio.run(next_turn())
    store.close()
    assert served == dead + 1
    assert 0.5 < waited < 3  # it waited for the dead ticket's lifetime (woken by its deadline, not the 10 s poll)


def test_many_turns_of_one_process_are_served_in_ticket_order(redis_url):
    store = make_store("ours", redis_url, "test" + uuid.uuid4().hex[:6], lifetime=10.0)
    order, inside = [], []

    async def turn():
        async with store.lock("busy") as lock:
            inside.append(1)
            assert len(inside) == 1
            order.append(lock.now_serving)
            await asyncio.sleep(0.005)
            inside.pop()

    async def all_turns():
        await asyncio.gather(*(turn() for _ in range(30)))

    asyncio.run(all_turns())
    store.close()
    assert len(order) == 30 and order == sorted(order) and len(set(order)) == 30
    assert store.get_lock("busy") is None  # the last release left nothing behind
