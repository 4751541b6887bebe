"""The cluster (bot.cluster): two Rasa replicas, the action server and the console behind Debian's nginx, on the
test Redis and SQL. Started once for this module; each test talks to it through nginx as a browser would."""
import asyncio
import shutil
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot.cluster import Cluster
from bot.settings import Settings
from bot.training.models import CURRENT
from tests import widget_client
from tests.conftest import ADMIN_PASSWORD, free_port
from tests.integration.conftest import Console

pytestmark = pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
                                reason="no nginx (.ci/run installs Debian's)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, redis_url, database_url):
    var = Path(tmp_path_factory.mktemp("cluster"))
    models = var / "models"  # its own: a test activates a model into the replicas and rolls it back
    (models / "candidates").mkdir(parents=True)
    shutil.copy(Settings().models_dir / CURRENT, models / CURRENT)
    settings = Settings(
        actions_port=free_port(), console_port=free_port(), redis_url=redis_url, database_url=database_url,
        console_admin_password=ADMIN_PASSWORD, demo_data=False, var_dir=var, models_dir=models,
        # every test visitor comes from loopback: the per-address limits are the unit tests' (tests/unit)
        widget_address_rate=100_000, widget_session_rate=100_000, widget_max_connections_per_ip=1000,
    )
    with Cluster(settings, replicas=2) as running:
        yield running


class Visitor(widget_client.Visitor):
    """A widget on a page, its socket.io through nginx (the cluster's one public address)."""

    def __init__(self, cluster, transports=("websocket",)):
        super().__init__(cluster.settings, origin=cluster.url)
        self.url = cluster.url
        self.transports = list(transports)

    async def connect(self):
        await self.sio.connect(self.url, headers={"Origin": self.origin}, socketio_path="/socket.io",
                               wait_timeout=widget_client.TIMEOUT, transports=self.transports)
        return self


def converse(cluster, text, transports=("websocket",)):
    async def scenario():
        visitor = await Visitor(cluster, transports).connect()
        try:
            await visitor.start()
            return await visitor.say(text)
        finally:
            await visitor.close()
    return asyncio.run(scenario())


def test_a_widget_conversation_through_nginx_is_answered(cluster):
    answers = converse(cluster, "what are your opening hours")
    assert "Torstrasse" in answers[0]["text"]


def test_long_polling_through_nginx_sticks_to_one_replica(cluster):
    """The widget falls back to polling: every request of that engine.io session must reach the same process."""
    answers = converse(cluster, "do you sell gift cards", transports=("polling",))
    assert answers and answers[0].get("text")


def test_the_console_is_served_through_nginx_and_rasa_api_is_not(cluster):
    assert requests.get(f"{cluster.url}/health", timeout=10).json()["status"] == "ok"  # the console's
    assert requests.get(f"{cluster.url}/webhooks/widget/widget.js", timeout=10).ok
    token = {"token": cluster.settings.rasa_token}
    assert requests.get(f"{cluster.url}/status", params=token, timeout=10).status_code == 404  # Rasa's API
    assert requests.get(f"{cluster.url}/webhooks/model/status", params=token, timeout=10).status_code == 404
    assert requests.get(f"{cluster.url}/metrics", timeout=10).status_code == 404


def counted(url, name, **labels):
    """A counter's value in a process's /metrics (0 when it has not counted any yet)."""
    text = requests.get(f"{url}/metrics", timeout=10)
    assert text.status_code == 200, text.text
    for family in text_string_to_metric_families(text.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def visitor_messages(url):
    return counted(url, "shopbot_messages_total", channel="widget", sender="visitor")


def test_visitors_are_spread_over_both_replicas_and_each_counts_its_messages(cluster):
    before = [visitor_messages(url) for url in cluster.replica_urls]
    sent = 0
    for _ in range(20):  # a fresh websocket goes to either replica (nginx hashes a per-request id)
        assert converse(cluster, "do you ship to Austria")
        sent += 1
        served = [visitor_messages(url) - was for url, was in zip(cluster.replica_urls, before, strict=True)]
        if all(served):
            break
    assert all(served), f"visitor messages per replica: {served}"
    assert sum(served) == sent  # each message counted once, by the replica that took it
    bot_lines = [counted(url, "shopbot_messages_total", channel="widget", sender="bot") for url in cluster.replica_urls]
    assert all(bot_lines)
    turns = [counted(url, "shopbot_turn_seconds_count", channel="widget") for url in cluster.replica_urls]
    assert all(turns)


def test_the_console_serves_metrics_with_the_queue(cluster):
    response = requests.get(f"{cluster.settings.console_url}/metrics", timeout=10)
    assert response.status_code == 200
    names = {f.name for f in text_string_to_metric_families(response.text)}
    assert {"shopbot_queue_length", "shopbot_agents_online"} <= names


def test_readyz_names_the_action_server_when_it_is_down(cluster):
    for url in [*cluster.replica_urls, cluster.settings.console_url]:
        ready = requests.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
    cluster.kill("actions")
    try:
        for url in cluster.replica_urls:
            ready = requests.get(f"{url}/readyz", timeout=10)
            assert ready.status_code == 503 and ready.json()["failed"] == ["actions"], ready.text
    finally:
        cluster.restart("actions")
    assert requests.get(f"{cluster.replica_urls[0]}/readyz", timeout=10).status_code == 200
    assert requests.get(f"{cluster.replica_urls[0]}/livez", timeout=10).json() == {"status": "ok"}


def test_with_a_replica_killed_nginx_sends_new_visitors_to_the_other(cluster):
    cluster.kill("rasa-1")
    try:
        for _ in range(4):  # whichever replica nginx's hash picks first, each visitor is answered
            assert "Torstrasse" in converse(cluster, "what are your opening hours")[0]["text"]
    finally:
        cluster.restart("rasa-1")
    assert requests.get(f"{cluster.replica_urls[0]}/readyz", timeout=10).status_code == 200


def test_an_activated_model_is_loaded_into_every_replica_and_the_rollback_too(cluster):
    """The console loads an activated model into each of RASA_REPLICAS (bot.training.models), and the rollback."""
    admin = Console(cluster)
    candidate = "copy-for-every-replica"  # the same model under another name: what is checked is who loads it
    shutil.copy(cluster.settings.models_dir / CURRENT, cluster.settings.models_dir / "candidates" / f"{candidate}.tar.gz")
    done = admin.call("POST", f"/api/train/models/{candidate}/activate",
                      {"reason": "every replica gets it", "force": True})["activation"]  # no report: past the gate
    assert done["ok"] and done["model"] == candidate
    assert sorted(r["url"] for r in done["replicas"]) == sorted(cluster.replica_urls)
    assert all(r["ok"] for r in done["replicas"]), done["replicas"]
    back = admin.call("POST", "/api/train/models/rollback", {"reason": "and back again"})["activation"]
    assert back["ok"] and back["previous"] == candidate
    assert sorted(r["url"] for r in back["replicas"] if r["ok"]) == sorted(cluster.replica_urls)
    for _ in range(4):  # both replicas answer with the model they loaded
        assert "Torstrasse" in converse(cluster, "what are your opening hours")[0]["text"]
