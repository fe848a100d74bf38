"""Fixtures of the kit's integration tests: a database and a bus namespace per module.

A test module may define `TEST_METADATA` (its own tiny tables, created beside the
kit's outbox and inbox) and `SERVICES` (the service names whose queues it creates,
deleted with the namespace at the end).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import MetaData

from crm_kit import deadletters, inbox, outbox  # noqa: F401  (their tables join kit_metadata on import)
from crm_kit.db import Database, kit_metadata
from crm_kit.migrations import drop_database
from crm_testkit.infra import Infra, delete_namespace, fresh_database, unique_namespace


@pytest.fixture(scope="module")
async def database(infra: Infra, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A database of the module's own with the kit's tables and the module's test tables."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    name = f"kit_{module}_{uuid.uuid4().hex[:8]}"
    url = await fresh_database(infra, name)
    db = Database(url)
    extra: MetaData | None = getattr(request.module, "TEST_METADATA", None)
    async with db.engine.begin() as conn:
        await conn.run_sync(kit_metadata.create_all)
        if extra is not None:
            await conn.run_sync(extra.create_all)
    yield db
    await db.dispose()
    await drop_database(infra.database(name))


@pytest.fixture(scope="module")
async def namespace(infra: Infra, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A bus namespace of the module's own, deleted with its queues at the end."""
    ns = unique_namespace("kt")
    yield ns
    await delete_namespace(infra.amqp_url, ns, list(getattr(request.module, "SERVICES", [])))
