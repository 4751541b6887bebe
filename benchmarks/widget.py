"""Round trips through the widget's socket.io channel against the REST channel, same stack, same message."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import List

import aiohttp
import socketio

from benchmarks.stats import heading, percentile, summary_ms
from bot.runner import Stack

MESSAGE = "what are your opening hours"


async def widget_client(stack: Stack, n: int) -> List[float]:
    client = socketio.AsyncClient(reconnection=False)
    answered = asyncio.Event()
    client.on("bot_uttered", lambda data: answered.set())
    await client.connect(stack.settings.rasa_url, headers={"Origin": stack.settings.allowed_origins[0]},
                         transports=["websocket"], wait_timeout=30)
    confirmed = asyncio.Event()
    client.on("session_confirm", lambda data: confirmed.set())
    await client.emit("session_request", {})
    await asyncio.wait_for(confirmed.wait(), 30)
    samples = []
    for _ in range(n):
        answered.clear()
        start = time.perf_counter()
        await client.emit("user_uttered", {"message": MESSAGE})
        await asyncio.wait_for(answered.wait(), 30)
        samples.append(time.perf_counter() - start)
    await client.disconnect()
    return samples


async def rest_client(stack: Stack, n: int) -> List[float]:
    sender, samples = f"bench-{uuid.uuid4().hex}", []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {stack.settings.rest_token}"}) as session:
        for _ in range(n):
            start = time.perf_counter()
            async with session.post(f"{stack.settings.rasa_url}/webhooks/rest/webhook",
                                    json={"sender": sender, "message": MESSAGE}) as response:
                await response.json()
            samples.append(time.perf_counter() - start)
    return samples


async def concurrent(make, stack: Stack, clients: int, each: int) -> List[float]:
    await make(stack, 3)  # warm-up
    results = await asyncio.gather(*(make(stack, each) for _ in range(clients)))
    return [s for r in results for s in r]


def report(stack: Stack) -> None:
    heading("Widget (socket.io) vs REST round trip, same message, same model")
    for clients, each in ((1, 100), (50, 4)):
        rest = asyncio.run(concurrent(rest_client, stack, clients, each))
        widget = asyncio.run(concurrent(widget_client, stack, clients, each))
        ratio = percentile(widget, 95) / percentile(rest, 95)
        print(f"  {clients:>2} client(s): REST   {summary_ms(rest)}")
        print(f"              widget {summary_ms(widget)}")
        print(f"              widget/REST p95 ratio {ratio:.2f}  (target <= 1.2)")
