"""Waiting in tests: for a condition, polled until it holds (returning at once when it does), never a fixed sleep."""
from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, Callable

POLL_SECONDS = 0.05


def wait_until(condition: Callable[[], Any], timeout: float = 15, what: str = "") -> Any:
    """The condition's first truthy value; AssertionError if it is still falsy after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        time.sleep(POLL_SECONDS)


async def eventually(condition: Callable[[], Any], timeout: float = 15, what: str = "") -> Any:
    """As wait_until, without blocking the event loop; the condition may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        await asyncio.sleep(POLL_SECONDS)
