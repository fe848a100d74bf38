"""What the gateway's page tests share: one gateway per test module, its upstreams a
stand-in (`pages.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crm_testkit.infra import Infra

from .pages import Pages, running_pages


@pytest.fixture(scope="module")
async def pages(infra: Infra) -> AsyncIterator[Pages]:
    async with running_pages(infra) as running:
        yield running
