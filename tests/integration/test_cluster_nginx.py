"""The cluster's nginx config (cluster/nginx.conf.template) with real nginx in front of three tiny HTTP servers
that answer their own name: which requests go where, without loading Rasa."""
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from bot.cluster import nginx_binary, nginx_config
from tests.conftest import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()), reason="no nginx")


def named_server(name):
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = f"{name} {self.path} {self.headers.get('X-Forwarded-For')}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("nginx")
    backends = {name: named_server(name) for name in ("rasa-1", "rasa-2", "console")}
    address = {name: f"127.0.0.1:{server.server_address[1]}" for name, server in backends.items()}
    port = free_port()
    (prefix / "nginx.conf").write_text(nginx_config(prefix, f"127.0.0.1:{port}", [address["rasa-1"], address["rasa-2"]],
                                                    address["console"], 65536, logs=prefix))
    nginx = subprocess.Popen([nginx_binary(), "-e", str(prefix / "error.log"), "-p", str(prefix),
                              "-c", str(prefix / "nginx.conf")])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{url}/nginx-health"), what="nginx answers")
        yield url
    finally:
        nginx.terminate()
        nginx.wait(10)
        for server in backends.values():
            server.shutdown()


def _answers(url):
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def served_by(url):
    response = requests.get(url, timeout=5)
    return response.text.split(" ")[0] if response.ok else response.status_code


def test_fresh_websockets_are_spread_over_both_replicas(proxy):
    seen = {served_by(f"{proxy}/socket.io/?EIO=4&transport=websocket") for _ in range(40)}
    assert seen == {"rasa-1", "rasa-2"}


def test_a_polling_session_always_reaches_the_same_replica(proxy):
    """Its handshake has no sid yet, its later requests (and the upgrade) have one: all by the client's address."""
    first = served_by(f"{proxy}/socket.io/?EIO=4&transport=polling")
    later = {served_by(f"{proxy}/socket.io/?EIO=4&transport=polling&sid=s{n}") for n in range(20)}
    upgrade = {served_by(f"{proxy}/socket.io/?EIO=4&transport=websocket&sid=s{n}") for n in range(20)}
    assert later == upgrade == {first}


def test_the_widget_files_go_to_rasa_and_everything_else_to_the_console(proxy):
    assert served_by(f"{proxy}/webhooks/widget/widget.js") in ("rasa-1", "rasa-2")
    assert served_by(f"{proxy}/") == "console"
    assert served_by(f"{proxy}/api/queue") == "console"
    assert served_by(f"{proxy}/conversations/x/tracker") == "console"  # Rasa's API path: not Rasa's here


@pytest.mark.parametrize("path", ["/metrics", "/webhooks/model/status", "/webhooks/rest/webhook"])
def test_metrics_and_rasas_other_webhooks_are_not_served(proxy, path):
    assert served_by(f"{proxy}{path}") == 404


def test_the_backends_are_told_the_visitors_address(proxy):
    assert requests.get(f"{proxy}/", timeout=5).text.split(" ")[2] == "127.0.0.1"
