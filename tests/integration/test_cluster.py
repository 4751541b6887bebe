"""The cluster (bot.cluster): two Rasa replicas, the action server and the console behind Debian's nginx, on the
test Redis and SQL. Started once for this module; each test talks to it through nginx as a browser would."""
import asyncio
from pathlib import Path

import pytest
import requests

from bot.cluster import Cluster
from bot.settings import Settings
from tests import widget_client
from tests.conftest import ADMIN_PASSWORD, free_port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, redis_url, database_url):
    settings = Settings(
        actions_port=free_port(), console_port=free_port(), redis_url=redis_url, database_url=database_url,
        console_admin_password=ADMIN_PASSWORD, demo_data=False, var_dir=Path(tmp_path_factory.mktemp("cluster")),
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
