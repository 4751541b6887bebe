"""The running stack as deployed: who the demo page signs in, whose address a connection counts against behind
a proxy, what `ps` shows, and who may read the runtime files."""
import asyncio
import contextlib
from pathlib import Path

import requests
import socketio

from bot.identity import sign

TIMEOUT = 20


def demo_page(stack, **headers):
    url = f"{stack.settings.rasa_url}/webhooks/widget/demo"
    return requests.get(url, params={"customer": "C00017"}, headers=headers, timeout=TIMEOUT)


def test_the_demo_page_signs_in_only_a_visitor_on_this_machine(stack):
    signature = sign("C00017", stack.settings.identity_secret)
    assert signature in demo_page(stack).text  # the test stack runs in demo mode, as `make run` does
    for headers in ({"X-Forwarded-For": "203.0.113.7"}, {"Forwarded": "for=203.0.113.7;proto=https"},
                    {"X-Real-IP": "203.0.113.7"}):
        page = demo_page(stack, **headers)
        assert page.status_code == 200 and signature not in page.text and "C00017" not in page.text, headers


async def connect(stack, forwarded_for: str):
    client = socketio.AsyncClient(reconnection=False)
    headers = {"Origin": stack.settings.allowed_origins[0], "X-Forwarded-For": forwarded_for}
    await client.connect(stack.settings.rasa_url, headers=headers, socketio_path="/socket.io",
                         wait_timeout=TIMEOUT, transports=["websocket"])
    return client


async def connect_until_refused(stack, addresses) -> list:
    clients = []
    for forwarded_for in addresses:
        try:
            clients.append(await connect(stack, forwarded_for))
        except socketio.exceptions.ConnectionError:
            break
    return clients


def test_behind_the_proxy_each_visitor_has_their_own_connection_cap(stack):
    limit = stack.settings.widget_max_connections_per_ip

    async def scenario():
        visitors, forgers = [], []
        try:  # more visitors than one address may have, all through the proxy (the test stack trusts one)
            visitors = await connect_until_refused(stack, [f"198.51.100.{i + 1}" for i in range(limit + 3)])
            assert len(visitors) == limit + 3
            # one visitor naming a new address each time is still the address the proxy saw
            forgers = await connect_until_refused(stack, [f"10.9.9.{i}, 198.51.100.200" for i in range(limit + 3)])
            assert len(forgers) == limit
        finally:
            for client in visitors + forgers:
                with contextlib.suppress(Exception):
                    await client.disconnect()
    asyncio.run(scenario())


def test_no_secret_is_on_a_command_line_and_the_api_still_wants_the_token(stack):
    settings = stack.settings
    secrets = [settings.rasa_token, settings.identity_secret] + ([settings.redis.password] if settings.redis.password else [])
    for child in stack.children:
        cmdline = Path(f"/proc/{child.process.pid}/cmdline").read_bytes()
        assert not [s for s in secrets if s.encode() in cmdline], child.name
    url = f"{settings.rasa_url}/status"
    assert requests.get(url, timeout=TIMEOUT).status_code == 401
    assert requests.get(url, params={"token": settings.rasa_token}, timeout=TIMEOUT).status_code == 200


def test_runtime_files_are_for_the_bots_user_only(stack):
    var = stack.settings.var_dir
    made = list(var.rglob("*"))  # the secrets, the Rasa token, logs, spilled touchpoints...
    assert {"identity_secret", "rasa_token", "rasa.log"} <= {p.name for p in made}
    loose = [f"{p} {oct(p.stat().st_mode & 0o777)}" for p in [var, *made] if p.stat().st_mode & 0o077]
    assert not loose
