"""`crm_kit.db.Database` when its pooled connections die: an idle one is pinged and
replaced unseen; one that dies right after use fails once (the caller's retry path),
and the next statement gets a fresh connection. An API answers 503, not 500."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc, text

from crm_kit.db import Database
from crm_kit.errors import database_busy, database_refused

pytestmark = pytest.mark.integration


async def backend_pid(db: Database) -> int:
    async with db.transaction() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(admin: Database, pid: int) -> None:
    async with admin.transaction() as session:
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_a_connection_that_died_while_idle_is_replaced_before_use(database: Database) -> None:
    db = Database(database.url, pool_size=1, ping_after_idle_s=0.2)
    try:
        first = await backend_pid(db)
        await terminate(database, first)
        await asyncio.sleep(0.3)  # idle longer than the threshold: pinged at checkout

        second = await backend_pid(db)  # no error: the dead one was found and replaced

        assert second != first
    finally:
        await db.dispose()


async def test_a_connection_that_died_just_after_use_fails_once_then_the_pool_recovers(
    database: Database,
) -> None:
    db = Database(database.url, pool_size=1, ping_after_idle_s=60)
    try:
        first = await backend_pid(db)
        await terminate(database, first)
        await asyncio.sleep(0.1)

        with pytest.raises(exc.DBAPIError) as failed:
            await backend_pid(db)  # used a moment ago: not pinged, so its death shows here
        assert failed.value.connection_invalidated

        assert await backend_pid(db) != first
    finally:
        await db.dispose()


async def test_an_api_request_that_lost_its_connection_answers_503_and_can_be_retried(
    database: Database,
) -> None:
    db = Database(database.url, pool_size=1, ping_after_idle_s=60)
    app = FastAPI()
    app.add_exception_handler(exc.DBAPIError, database_refused)

    @app.get("/pid")
    async def pid() -> int:
        return await backend_pid(db)

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            first = (await client.get("/pid")).json()
            await terminate(database, first)
            await asyncio.sleep(0.1)

            lost = await client.get("/pid")
            again = await client.get("/pid")

        assert lost.status_code == 503 and lost.headers["retry-after"] == "1"
        assert "try again" in lost.json()["detail"]
        assert again.status_code == 200 and again.json() != first
    finally:
        await db.dispose()


async def test_a_row_is_read_without_begin_and_commit_and_a_transaction_still_has_them(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    begun: list[object] = []
    transaction = asyncpg.Connection.transaction

    def spied(self: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        begun.append(self)
        return transaction(self, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "transaction", spied)
    row = await database.read_row(text("SELECT txid_current() AS txid WHERE :id > 0"), {"id": 1})
    assert row is not None and row.txid > 0
    assert await database.read_row(text("SELECT 1 WHERE false"), {}) is None
    assert begun == []  # no BEGIN ... COMMIT around a read
    # The pooled connection went back as it was: a transaction is one again.
    async with database.transaction() as session:
        first, second = [
            (await session.execute(text("SELECT txid_current()"))).scalar_one() for _ in range(2)
        ]
    assert first == second
    assert len(begun) == 1


async def test_under_load_work_waits_for_a_pooled_connection_and_never_opens_more(database: Database) -> None:
    """The pool opens no connection beyond its size; past its timeout an API answers 503."""
    db = Database(database.url, pool_size=2, pool_timeout_s=0.5)
    app = FastAPI()
    app.add_exception_handler(exc.TimeoutError, database_busy)

    @app.get("/pid")
    async def pid() -> int:
        async with db.transaction() as session:
            await session.execute(text("SELECT pg_sleep(0.05)"))
            return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            answers = await asyncio.gather(*(client.get("/pid") for _ in range(10)))
            assert [a.status_code for a in answers] == [200] * 10
            assert len({a.json() for a in answers}) <= 2  # ten requests, the pool's two connections

            async with db.transaction() as one, db.transaction() as two:  # every connection held
                await one.execute(text("SELECT 1"))
                await two.execute(text("SELECT 1"))
                busy = await client.get("/pid")
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert "try again" in busy.json()["detail"]
    finally:
        await db.dispose()
