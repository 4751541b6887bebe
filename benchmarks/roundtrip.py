"""REST round trips through the whole running stack (Rasa + action server + Redis lock store + SQL)."""
from __future__ import annotations

import socket
import tempfile
import uuid
from pathlib import Path
from typing import List

import requests

from benchmarks import handoff, widget
from benchmarks.stats import heading, summary_ms, timed
from bot.runner import Stack
from bot.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TURNS_PER_CONVERSATION = 10  # a support chat is short; Rasa reloads the whole tracker every turn


def round_trips(stack: Stack, text: str, n: int, new_conversations: bool = False) -> List[float]:
    """n round trips in conversations of TURNS_PER_CONVERSATION messages, or each opening a new conversation."""
    url = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {stack.settings.rest_token}"
    samples: List[float] = []
    sender = f"bench-{uuid.uuid4().hex}"
    for i in range(n + 10):
        if new_conversations or i % TURNS_PER_CONVERSATION == 0:
            sender = f"bench-{uuid.uuid4().hex}"
        sample: List[float] = []
        with timed(sample):
            response = session.post(url, json={"sender": sender, "message": text}, timeout=30)
        response.raise_for_status()
        if i >= 10:  # warm-up
            samples += sample
    return samples


BENCH_ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 (a throwaway stack)
BENCH_REST_TOKEN = "bench-rest-token"  # noqa: S105 (a throwaway stack)


def bench_settings(var_dir: Path) -> Settings:
    """A throwaway stack on free ports with limits far above the load, so the figures measure the channels, not
    the protections; everything else as `make run` has it (embedded Redis, SQLite)."""
    return Settings(rasa_port=_free_port(), actions_port=_free_port(), embedded_redis_port=_free_port(),
                    console_port=_free_port(), var_dir=var_dir, widget_rate=100_000,
                    widget_max_connections_per_ip=1_000, widget_address_rate=100_000,
                    widget_session_rate=100_000, console_admin_password=BENCH_ADMIN_PASSWORD,
                    rest_token=BENCH_REST_TOKEN)


def report(n: int = 200) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with Stack(bench_settings(Path(tmp))) as stack:
            heading(f"REST round trip through Rasa, {n} messages each, sequential, {TURNS_PER_CONVERSATION} per conversation")
            action = round_trips(stack, "zzkq vrrp blam", n)  # low confidence -> custom action_check_repeated_miss
            print(f"  message that runs a custom action: {summary_ms(action)}  (target p95 < 150 ms)")
            plain = round_trips(stack, "what are your opening hours", n)
            print(f"  message answered by a response:     {summary_ms(plain)}")
            first = round_trips(stack, "what are your opening hours", n, new_conversations=True)
            print(f"  first message of a conversation:    {summary_ms(first)}  (adds the custom action_session_start)")
            widget.report(stack)
            handoff.report(stack, BENCH_ADMIN_PASSWORD, n)
