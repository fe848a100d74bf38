from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, until: Callable[[T], bool], timeout: float = 20, what: str = ""
) -> T:
    """Poll `probe` until `until(result)`; fail with the last result after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what or probe}; last: {result!r}")
        await asyncio.sleep(0.1)


async def metric_total(base_url: str, name: str) -> float:
    """Sum of a Prometheus counter's samples on a service's /metrics."""
    import httpx

    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{base_url}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(f"{name}{{") or line.startswith(f"{name} ")
    )
