"""Browser tests: Playwright driving Debian's Chromium against the whole system.

The system is the session's `stack` from `tests/conftest.py` (every service as a process,
with its own ports, databases and bus namespace), shared with tests/e2e. Playwright's
own browser download does not work on these machines: the browser is `/usr/bin/chromium`
(`apt-get install chromium`), or CHROMIUM_PATH.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, async_playwright

from ..harness import SETTLE_MS

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".local" / "test-logs" / "ui"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    )


#: What the browser refused under the gateway's Content-Security-Policy during a test.
REFUSED_BY_POLICY: list[str] = []


def _watch_policy(context: BrowserContext) -> BrowserContext:
    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            REFUSED_BY_POLICY.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", seen)
    return context


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("no Chromium: `apt-get install -y chromium` (or set CHROMIUM_PATH)", pytrace=False)
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        new_context = launched.new_context

        async def watched_context(*args: Any, **kwargs: Any) -> BrowserContext:
            return _watch_policy(await new_context(*args, **kwargs))

        launched.new_context = watched_context  # type: ignore[method-assign]
        yield launched
        await launched.close()


@pytest.fixture(autouse=True)
def nothing_refused_by_the_content_security_policy() -> Iterator[None]:
    """Every page of every browser test works under the gateway's policy (no inline
    script or style): what the browser refused fails the test."""
    REFUSED_BY_POLICY.clear()
    yield
    assert not REFUSED_BY_POLICY, REFUSED_BY_POLICY


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[Callable[[str], Awaitable[BrowserContext]]]:
    """`await contexts("vi")`: a fresh browser context in that language, closed after the test
    (`locale=` for a browser whose own language is not the one the user picked in the UI)."""
    made: list[BrowserContext] = []

    async def make(lang: str, locale: str | None = None) -> BrowserContext:
        locale = locale or {"vi": "vi-VN", "en": "en-GB"}[lang]
        context = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale=locale)
        context.set_default_timeout(SETTLE_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()
