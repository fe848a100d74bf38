"""Retention of the outbox and inbox against a real Postgres: a running service deletes sent
outbox rows and inbox rows older than their retention, in small batches that skip what
another transaction holds, keeps everything younger and every unsent row, and reports
the tables' sizes and the oldest pending row on /metrics."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import func, select, text

from crm_kit.assembly import create_service_app
from crm_kit.auth import generate_keypair
from crm_kit.db import Database
from crm_kit.inbox import inbox
from crm_kit.outbox import outbox
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra

pytestmark = pytest.mark.integration

SERVICES = ["retsvc"]
Eventually = Callable[..., Awaitable[Any]]
HOUR = 3600.0


def settings_for(infra: Infra, database: Database, namespace: str, **overrides: Any) -> ServiceSettings:
    return ServiceSettings(
        **{
            "service_name": "retsvc",
            "amqp_url": infra.amqp_url,
            "database_url": database.url,
            "bus_namespace": namespace,
            "jwt_public_key": generate_keypair()[1],
            "relay_enabled": False,  # the unsent row below stays unsent
            "outbox_retention_s": HOUR,
            "inbox_retention_s": 2 * HOUR,
            "retention_interval_s": 0.2,
            "retention_batch_size": 3,
            **overrides,
        }
    )


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://retsvc") as http:
            yield http


async def add_outbox_row(database: Database, *, age: timedelta, sent: bool) -> uuid.UUID:
    event_id = uuid.uuid4()
    async with database.transaction() as session:
        await session.execute(
            outbox.insert().values(
                event_id=event_id,
                routing_key="retention.thing.done.v1",
                correlation_id="retention",
                body=b"{}",
                created_at=func.now() - age,
                published_at=(func.now() - age + timedelta(seconds=1)) if sent else None,
            )
        )
    return event_id


async def add_inbox_row(database: Database, *, age: timedelta) -> uuid.UUID:
    event_id = uuid.uuid4()
    async with database.transaction() as session:
        await session.execute(
            inbox.insert().values(
                consumer="retsvc",
                event_id=event_id,
                routing_key="retention.thing.done.v1",
                received_at=func.now() - age,
            )
        )
    return event_id


async def outbox_ids(database: Database) -> set[uuid.UUID]:
    async with database.transaction() as session:
        return set((await session.execute(select(outbox.c.event_id))).scalars())


async def inbox_ids(database: Database) -> set[uuid.UUID]:
    async with database.transaction() as session:
        return set((await session.execute(select(inbox.c.event_id))).scalars())


@pytest.fixture(autouse=True)
async def empty_tables(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(text("TRUNCATE outbox, inbox"))


def gauge(scrape: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in scrape.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    raise AssertionError(f"{name}{{{wanted}}} not on /metrics")


async def test_a_running_service_prunes_old_history_and_keeps_what_it_must(
    infra: Infra, database: Database, namespace: str, eventually: Eventually
) -> None:
    old_sent = [await add_outbox_row(database, age=timedelta(hours=3), sent=True) for _ in range(7)]
    young_sent = await add_outbox_row(database, age=timedelta(minutes=50), sent=True)
    old_unsent = await add_outbox_row(database, age=timedelta(hours=5), sent=False)
    old_inbox = [await add_inbox_row(database, age=timedelta(hours=3)) for _ in range(5)]
    young_inbox = await add_inbox_row(database, age=timedelta(minutes=90))  # inbox keeps 2 hours

    app = create_service_app(settings_for(infra, database, namespace), title="retention")
    async with started(app) as http:
        await eventually(
            lambda: outbox_ids(database),
            lambda ids: not ids & set(old_sent),
            timeout=10,
            what="sent outbox rows past their retention deleted",
        )
        await eventually(
            lambda: inbox_ids(database),
            lambda ids: not ids & set(old_inbox),
            timeout=10,
            what="inbox rows past their retention deleted",
        )
        scrape = (await http.get("/metrics")).text

    assert await outbox_ids(database) == {young_sent, old_unsent}  # unsent rows are never deleted
    assert await inbox_ids(database) == {young_inbox}
    assert gauge(scrape, "crm_outbox_oldest_pending_seconds", service="retsvc") >= 5 * HOUR - 60
    assert gauge(scrape, "crm_retention_deleted_rows_total", service="retsvc", table="outbox") == 7
    assert gauge(scrape, "crm_retention_deleted_rows_total", service="retsvc", table="inbox") == 5
    for table in ("outbox", "inbox"):
        assert gauge(scrape, "crm_table_bytes", service="retsvc", table=table) > 0
        assert gauge(scrape, "crm_table_rows_estimate", service="retsvc", table=table) >= 0


async def test_pruning_skips_rows_another_transaction_holds_and_never_waits_for_them(
    infra: Infra, database: Database, namespace: str
) -> None:
    from crm_kit.retention import Retention

    held = await add_outbox_row(database, age=timedelta(hours=3), sent=True)
    free = [await add_outbox_row(database, age=timedelta(hours=3), sent=True) for _ in range(4)]
    held_inbox = await add_inbox_row(database, age=timedelta(hours=3))
    retention = Retention.from_settings(database, settings_for(infra, database, namespace))

    async with database.transaction() as holder:  # as the relay's SELECT ... FOR UPDATE would
        await holder.execute(select(outbox.c.id).where(outbox.c.event_id == held).with_for_update())
        await holder.execute(select(inbox.c.event_id).where(inbox.c.event_id == held_inbox).with_for_update())
        deleted = await asyncio.wait_for(retention.prune_once(), timeout=5)

    assert deleted == {"outbox": 4, "inbox": 0}
    assert await outbox_ids(database) == {held}
    assert not await outbox_ids(database) & set(free)
    assert await inbox_ids(database) == {held_inbox}
    assert await retention.prune_once() == {"outbox": 1, "inbox": 1}  # released: its turn


def test_the_inbox_outlives_the_longest_redelivery() -> None:
    """An inbox row is what makes a redelivered copy a no-op: deleted before the last copy
    can come back, that copy would take effect a second time."""
    assert ServiceSettings().outbox_retention_s == ServiceSettings().inbox_retention_s == 7 * 24 * HOUR
    with pytest.raises(ValidationError, match="inbox_retention_s"):
        ServiceSettings(inbox_retention_s=2 * HOUR, max_attempts=60, retry_delay_s=600)
    assert ServiceSettings(inbox_retention_s=2 * HOUR, max_attempts=60, retry_delay_s=60)
