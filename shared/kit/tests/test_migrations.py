"""`crm_kit.migrations`: replicas that start together on an empty database take turns."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from crm_kit.migrations import drop_database, upgrade_in_subprocess
from crm_testkit.infra import ROOT, Infra

pytestmark = pytest.mark.integration


async def test_three_replicas_migrating_one_empty_database_at_once_all_succeed(infra: Infra) -> None:
    url = infra.database(f"kit_migrate_{uuid.uuid4().hex[:8]}")
    service = ROOT / "services" / "accounting"
    try:
        results = await asyncio.gather(
            *(asyncio.to_thread(upgrade_in_subprocess, service, url) for _ in range(3)),
            return_exceptions=True,
        )
        assert [r for r in results if r is not None] == []

        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            versions = await conn.fetch("SELECT version_num FROM alembic_version")
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('outbox', 'inbox')"
            )
        finally:
            await conn.close()
        assert len(versions) == 1 and tables == 2
    finally:
        await drop_database(url)
