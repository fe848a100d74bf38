"""`customer_copy.arrived`: a request about a customer whose event is on its way waits for
it, bounded, inside its own transaction (read your own writes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest

from crm_kit import customer_copy
from crm_kit.customer_copy import Details, Fact, Stage
from crm_kit.db import Database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
async def copy_table(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(customer_copy.metadata.create_all)


async def _record_later(database: Database, fact: Fact, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    async with database.transaction() as session:
        await customer_copy.record(session, [fact])


async def test_a_registration_committed_meanwhile_is_seen_by_the_waiting_transaction(database: Database):
    customer = uuid.uuid4()
    registration = Fact(
        customer, datetime.now(UTC), details=Details("Công ty Đang Đến", "01", None), stage=Stage.PROSPECT
    )
    later = asyncio.create_task(_record_later(database, registration, 0.3))
    async with database.transaction() as session:
        row = await customer_copy.arrived(session, customer, within_s=5)
    await later
    assert row is not None and row.name == "Công ty Đang Đến" and row.lifecycle_stage == "prospect"


async def test_a_placeholder_is_not_an_arrival_and_the_wait_is_bounded(database: Database):
    customer = uuid.uuid4()
    async with database.transaction() as session:
        # An owner's change that overtook the registration: the row exists, the stage is not told.
        await customer_copy.record(session, [Fact(customer, datetime.now(UTC), tells_owner=True)])
    started = time.monotonic()
    async with database.transaction() as session:
        assert await customer_copy.arrived(session, customer, within_s=0.4) is None
    assert 0.4 <= time.monotonic() - started < 1.5
