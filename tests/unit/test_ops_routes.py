"""The console's /livez, /readyz and /metrics (bot/console/blueprints/ops.py) and the readiness checks they share
with the Rasa replicas (bot.health), against the session's real Redis and SQLite files of the test's own."""
import asyncio

from prometheus_client.parser import text_string_to_metric_families

from bot import health
from tests.conftest import free_port
from tests.unit.console_app import rasa_trackers, served
from tests.unit.test_console_routes import fetch, redis_down


def gauge(text, name):
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)


def test_readiness_names_each_failed_check_and_bounds_a_slow_one():
    async def fine():
        pass

    async def broken():
        raise ConnectionError("refused")

    async def slow():
        await asyncio.sleep(health.CHECK_SECONDS * 3)

    status, body = asyncio.run(health.readiness({"a": fine, "b": broken, "c": slow}))
    assert status == 503 and body["failed"] == ["b", "c"]
    assert body["checks"]["a"] == "ok" and body["checks"]["b"] == "ConnectionError: refused"
    assert asyncio.run(health.readiness({"a": fine}))[0] == 200


def test_sql_and_http_checks_fail_on_what_does_not_answer(tmp_path):
    asyncio.run(health.sql_check(f"sqlite:///{tmp_path / 'ok.db'}")())
    status, body = asyncio.run(health.readiness({
        "sql": health.sql_check(f"sqlite:///{tmp_path / 'missing' / 'no.db'}"),
        "http": health.http_check(f"http://127.0.0.1:{free_port()}/health")}))
    assert status == 503 and body["failed"] == ["sql", "http"]


def test_console_readyz_names_rasa_when_its_api_is_down_and_redis_when_that_is(tmp_path, redis_url):
    async def scenario():
        async with rasa_trackers() as rasa_url, served(tmp_path, redis_url, rasa_api_url_override=rasa_url) as console:
            guest = console.client()
            status, _, body = await fetch(guest, "/readyz")
            assert status == 200, body
            async with redis_down(console):
                status, _, body = await fetch(guest, "/readyz")
                assert status == 503 and '"failed":["redis"]' in body
            assert (await fetch(guest, "/livez"))[:1] == (200,)
        async with served(tmp_path, redis_url) as console:  # its Rasa port: nobody listens
            status, _, body = await fetch(console.client(), "/readyz")
            assert status == 503 and '"failed":["rasa"]' in body
    asyncio.run(scenario())


def test_console_metrics_count_the_queue_when_scraped_and_answer_while_redis_is_down(tmp_path, redis_url):
    async def scenario():
        async with served(tmp_path, redis_url) as console:
            guest = console.client()
            before = gauge((await fetch(guest, "/metrics"))[2], "shopbot_queue_length")
            await console.handoff()
            await console.handoff()
            status, headers, text = await fetch(guest, "/metrics")
            assert status == 200 and headers["Content-Type"].startswith("text/plain")
            assert gauge(text, "shopbot_queue_length") == before + 2
            async with redis_down(console):
                status, _, text = await fetch(guest, "/metrics")
                assert status == 200 and gauge(text, "shopbot_queue_length") == before + 2  # the last known
    asyncio.run(scenario())


def test_rasas_ops_channel_is_registered_at_the_servers_root():
    import yaml

    from bot.channels.ops import OpsInput, action_server_health
    from bot.settings import ROOT, Settings

    assert "bot.channels.ops.OpsInput" in yaml.safe_load((ROOT / "credentials.yml").read_text())
    assert OpsInput().url_prefix() == "/"  # Rasa joins it to /webhooks/: /readyz, not /webhooks/ops/readyz
    assert action_server_health(Settings(actions_port=5999)) == "http://127.0.0.1:5999/health"
    assert action_server_health(Settings(actions_url_override="http://actions:5055/webhook")) == \
        "http://actions:5055/health"
