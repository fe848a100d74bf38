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
