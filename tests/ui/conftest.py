"""Browser tests: Playwright driving Debian's Chromium against the whole system.

The system is the session's `stack` from `tests/conftest.py` (every service as a process,
with its own ports, databases and bus namespace), shared with tests/e2e. Playwright's
own browser download does not work on these machines: the browser is `/usr/bin/chromium`
(`apt-get install chromium`), or CHROMIUM_PATH.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

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


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("no Chromium: `apt-get install -y chromium` (or set CHROMIUM_PATH)", pytrace=False)
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[Callable[[str], Awaitable[BrowserContext]]]:
    """`await contexts("vi")`: a fresh browser context in that language, closed after the test."""
    made: list[BrowserContext] = []

    async def make(lang: str) -> BrowserContext:
        locale = {"vi": "vi-VN", "en": "en-GB"}[lang]
        context = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale=locale)
        context.set_default_timeout(SETTLE_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()
