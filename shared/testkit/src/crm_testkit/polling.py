"""Waiting for what happens on its own time: a consumer, a relay, another service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

#: How long a test waits for something to happen before it fails.
DEADLINE_S = 30.0


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], Any] = bool,
    *,
    until: Callable[[T], Any] | None = None,
    timeout: float = DEADLINE_S,
    every: float = 0.05,
    what: str = "",
) -> T:
    """Poll `probe` until `done(result)` (or `until(result)`) is true, and return that result;
    fail the test with the last result after `timeout` seconds."""
    check = until or done
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if check(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what or 'condition'} not reached within {timeout:.0f}s; last: {result!r}")
        await asyncio.sleep(every)
