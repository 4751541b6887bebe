"""The bot as a shop owner runs it: Rasa + action server + Redis lock store + SQL trackers."""
import socket
import subprocess
import sys

import pytest
import redis
import sqlalchemy as sa

from bot import shop
from bot.settings import ROOT, RedisTarget, child_environment
from tests.integration.conftest import parse

FACTS = shop.facts()


def test_greets_and_answers_faqs_from_the_shop_facts(chat):
    assert FACTS["bot_name"] in chat.texts("hi there")[0]
    answer = chat.texts("what does delivery cost")[0]
    assert str(FACTS["standard_shipping_cost"]) in answer and str(FACTS["free_shipping_threshold"]) in answer
    assert FACTS["store_address"] in chat.texts("when are you open")[0]


def test_two_misses_offer_a_person_and_yes_reaches_one(chat, nobody_on_shift):
    assert chat.texts("blorp fizzle wum") == ["Sorry, I didn't quite get that. Could you say it in other words?"]
    offer = chat.say("qwxz plonk zzz")
    assert "talk to a person" in offer[0]["text"]
    assert [b["payload"] for b in offer[0]["buttons"]] == ["/affirm", "/deny"]
    assert FACTS["support_phone"] in chat.texts("/affirm")[0]  # nobody on shift: how else to reach us


def test_an_understood_message_resets_the_miss_count(chat):
    chat.say("blorp fizzle wum")
    chat.say("where is my parcel")
    assert "say it in other words" in chat.texts("qwxz plonk zzz")[0]


def test_the_conversation_is_stored_in_the_sql_tracker_store(chat, database_url):
    chat.say("hello")
    chat.say("do you have gift cards")
    events = chat.tracker()["events"]
    assert [e["text"] for e in events if e["event"] == "user"] == ["hello", "do you have gift cards"]
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select count(*) from events where sender_id = :s"), {"s": chat.sender}).scalar()
    engine.dispose()
    assert rows >= 6  # session start, 2 user turns, actions and bot turns


def test_the_lock_store_is_the_configured_redis(chat, redis_url):
    # Rasa checks its Redis lock store at start-up; a lock key exists only while a message is handled,
    # so ask the server which connections it has: Rasa holds one to the URL's db (one db for all: a managed Redis
    # or a Redis Cluster has only db 0).
    chat.say("hi")
    client = redis.Redis.from_url(redis_url)
    clients = client.client_list()
    assert any(int(c.get("db", -1)) == RedisTarget.from_url(redis_url).db for c in clients), clients


@pytest.mark.parametrize(
    "text",
    ["", " ", "x" * 4096, "'; DROP TABLE events; --", "Wo ist meine Bestellung? 📦 ÄÖÜ ß 你好", "<script>alert(1)</script>"],
)
def test_bad_input_gets_an_answer_and_breaks_nothing(chat, text):
    chat.say(text)  # must be a 200 (a longer message is refused with 413: test_rest_channel.py)
    assert chat.texts("what are your opening hours")  # and the conversation goes on


def test_low_confidence_is_never_a_guess(stack):
    result = parse(stack, "purple monkey dishwasher")
    assert result["intent"]["name"] == "nlu_fallback"


def _local_non_loopback_address():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
            return sock.getsockname()[0]
        except OSError:
            return None


def test_the_action_server_is_not_reachable_from_outside(stack):
    address = _local_non_loopback_address()
    if not address or address.startswith("127."):
        pytest.skip("this machine has no non-loopback address to test from")
    with pytest.raises(OSError):
        socket.create_connection((address, stack.settings.actions_port), timeout=2)
    socket.create_connection(("127.0.0.1", stack.settings.actions_port), timeout=2).close()


def test_conversation_tests_pass_without_prediction_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--stories", "tests/stories", "--model", "models/current.tar.gz",
         "--fail-on-prediction-errors", "--out", str(tmp_path)],
        cwd=ROOT, env=child_environment_for_tests(), capture_output=True, text=True, timeout=600,
    )
    failed = (tmp_path / "failed_test_stories.yml")
    assert result.returncode == 0, failed.read_text() if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]


def child_environment_for_tests():
    from bot.settings import Settings
    return child_environment(Settings())


def test_a_crashed_action_server_is_restarted_and_the_bot_goes_on(stack, chat):
    import time

    import requests

    actions = stack.children[0]
    assert actions.name == "action server"
    actions.process.kill()
    actions.process.wait()
    assert stack.revive() == ["action server"]
    actions.wait_healthy(time.monotonic() + 60)
    assert requests.get(actions.health_url, timeout=5).ok
    assert "say it in other words" in chat.texts("zzkq vrrp blam")[0]  # a custom action runs again
