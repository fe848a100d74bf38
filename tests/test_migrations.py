"""Each service's migrations build exactly the tables its models describe.

A model changed without a migration (or a column moved into a mixin with another
type, length or index) would pass every test that builds its tables from the
migrations yet differ from what the code believes; `alembic check` compares the
migrated database with the models and the kit's tables the service keeps.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from crm_kit.migrations import drop_database
from crm_testkit.infra import Infra, fresh_database, migrate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/alembic.ini"))


def test_every_service_has_migrations() -> None:
    assert SERVICES == ["accounting", "customers", "gateway", "leads", "marketing", "sales"]


@pytest.mark.parametrize("service", SERVICES)
async def test_the_migrated_database_is_what_the_models_say(infra: Infra, service: str) -> None:
    url = await fresh_database(infra, f"crm_drift_{service}_{uuid.uuid4().hex[:6]}")
    try:
        await asyncio.to_thread(migrate, service, url)
        checked = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "alembic", "check"],
            cwd=ROOT / "services" / service,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
        )
    finally:
        await drop_database(url)
    assert checked.returncode == 0, checked.stdout + checked.stderr[-3000:]
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


async def _schema(url: str) -> tuple[str, list[tuple[str, str]]]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        head = await conn.fetchval("SELECT version_num FROM alembic_version")
        columns = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1, 2"
        )
    finally:
        await conn.close()
    return head, [(c["table_name"], c["column_name"]) for c in columns]


async def test_a_database_from_the_template_is_the_migrated_one_and_a_new_version_replaces_it(
    infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test modules' databases are copies of a template migrated once per version of
    the schema (`crm_testkit.infra.migrated_database`): the same head and the same
    columns as migrating from scratch, and a changed version builds its own template and
    drops the older one."""
    from crm_testkit import infra as testkit

    suffix = uuid.uuid4().hex[:6]
    migrated = await fresh_database(infra, f"crm_scratch_leads_{suffix}")
    copies = [f"crm_copy_leads_{suffix}_{n}" for n in (1, 2)]
    try:
        await asyncio.to_thread(migrate, "leads", migrated)
        from_scratch = await _schema(migrated)
        first = await testkit.migrated_database(infra, "leads", copies[0])
        assert await _schema(first) == from_scratch

        monkeypatch.setattr(testkit, "schema_version", lambda service: f"t{suffix}")
        second = await testkit.migrated_database(infra, "leads", copies[1])
        assert await _schema(second) == from_scratch
        conn, _ = await testkit.connect_to_server(infra.database("postgres"))
        try:
            found = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'crm_tmpl_leads_%'")
            templates = [r["datname"] for r in found]
        finally:
            await conn.close()
        assert templates == [f"crm_tmpl_leads_t{suffix}"]
    finally:
        made = [migrated, *(infra.database(c) for c in (*copies, f"crm_tmpl_leads_t{suffix}"))]
        for name in made:
            await drop_database(name)
