"""What the database's failures mean to the kit: a read-only transaction (a standby after
a failover) and a lost connection are "not yet" (a consumer waits, never dead-letters; an
API answers 503), a statement past its timeout is answered 503 in time rather than hanging,
and a `Listener` that cannot LISTEN gives its connection back."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc, text

from crm_kit import errors
from crm_kit.db import Database, DatabaseTimeouts, Listener
from crm_kit.handlers import is_waiting
from crm_kit.outbox import outbox

pytestmark = pytest.mark.integration


async def failure_of(db: Database, *statements: str) -> exc.DBAPIError:
    with pytest.raises(exc.DBAPIError) as failed:
        async with db.transaction() as session:
            for statement in statements:
                await session.execute(text(statement))
    return failed.value


def app_on(db: Database, *statements: str) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/run")
    async def run() -> str:
        async with db.transaction() as session:
            for statement in statements:
                await session.execute(text(statement))
        return "done"

    return app


async def get(app: FastAPI, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = await client.get(path)
    return answer, time.monotonic() - started


@pytest.fixture
async def quick(database: Database) -> AsyncIterator[Database]:
    """The module's database with timeouts short enough to see in a test."""
    db = Database(
        database.url,
        pool_size=2,
        timeouts=DatabaseTimeouts(statement_s=0.3, lock_s=0.2, command_s=0.5, ping_s=0.5),
    )
    yield db
    await db.dispose()


async def test_a_read_only_transaction_after_a_failover_waits_rather_than_using_up_tries(
    database: Database,
) -> None:
    """A standby promoted late, or a pool still pointed at the old primary: 25006."""
    failed = await failure_of(database, "SET TRANSACTION READ ONLY", f"DELETE FROM {outbox.name}")
    assert isinstance(failed.orig.__cause__, asyncpg.exceptions.ReadOnlySQLTransactionError)

    assert is_waiting(failed)


async def test_an_api_write_refused_as_read_only_answers_503(database: Database) -> None:
    answer, _ = await get(app_on(database, "SET TRANSACTION READ ONLY", f"DELETE FROM {outbox.name}"), "/run")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"


async def test_a_connection_killed_mid_statement_waits(database: Database) -> None:
    """pg_terminate_backend (an administrator, a failover) while a statement runs."""
    victim = Database(database.url, pool_size=1)
    try:
        async with victim.transaction() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        async def kill_soon() -> None:
            await asyncio.sleep(0.3)
            async with database.transaction() as s:
                await s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        killer = asyncio.create_task(kill_soon())
        failed = await failure_of(victim, "SELECT pg_sleep(5)")
        await killer
        assert is_waiting(failed)
    finally:
        await victim.dispose()


async def test_a_statement_past_the_statement_timeout_answers_503_in_time(quick: Database) -> None:
    failed = await failure_of(quick, "SELECT pg_sleep(3)")
    assert isinstance(failed.orig.__cause__, asyncpg.exceptions.QueryCanceledError)

    answer, took = await get(app_on(quick, "SELECT pg_sleep(3)"), "/run")

    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert took < 1.5, took


async def test_a_server_that_stops_answering_is_given_up_on_after_the_command_timeout(
    database: Database,
) -> None:
    """The server-side timeout cannot help when the server is unreachable (a partition):
    the client's own command timeout answers, and the API says 503 rather than hanging."""
    db = Database(database.url, pool_size=1, timeouts=DatabaseTimeouts(statement_s=30, command_s=0.5))
    try:
        answer, took = await get(app_on(db, "SELECT pg_sleep(3)"), "/run")
        assert answer.status_code == 503, answer.text
        assert took < 2.0, took
    finally:
        await db.dispose()


async def test_the_timeouts_are_the_sessions_settings(quick: Database) -> None:
    async with quick.transaction() as session:
        shown = [
            (await session.execute(text(f"SHOW {name}"))).scalar_one()
            for name in ("statement_timeout", "lock_timeout", "tcp_keepalives_idle")
        ]
    assert shown[:2] == ["300ms", "200ms"]
    assert shown[2] in ("30", "30s", "0")  # 0 over a Unix socket, where keepalives do not apply
    raw = await quick.engine.raw_connection()
    try:
        sock = raw.driver_connection._transport.get_extra_info("socket")  # type: ignore[union-attr]
        if sock.family != socket.AF_UNIX:  # the client's end too
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
    finally:
        raw.close()


async def test_a_listener_that_cannot_listen_gives_its_connection_back(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(database.url, pool_size=1, timeouts=DatabaseTimeouts(command_s=2))

    async def refuse(self: asyncpg.Connection, channel: str, callback: object) -> None:
        raise asyncpg.exceptions.InsufficientPrivilegeError("not allowed to LISTEN")

    try:
        with monkeypatch.context() as patched:
            patched.setattr(asyncpg.Connection, "add_listener", refuse)
            listener = Listener(db, "crm_test", lambda: None)
            assert not await listener.start()
            assert not await listener.start()
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with db.transaction() as session:  # the pool's one connection is free
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.dispose()


async def test_requests_that_find_the_listener_dead_at_once_listen_again_on_one_connection(
    database: Database,
) -> None:
    """Every request of a service with the staff directory checks its listener: after a
    failover reset every connection, many found it dead at the same moment, and each
    listened again on a connection of its own, held for good (the pool ran dry)."""
    db = Database(database.url, pool_size=4, timeouts=DatabaseTimeouts(command_s=2))
    listener = Listener(db, "crm_test", lambda: None)
    try:
        assert await listener.start()
        async with database.transaction() as session:
            await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN %crm_test%'"
                )
            )
        await asyncio.sleep(0.2)
        assert not listener.alive()

        await asyncio.gather(*(listener.restart_if_dead() for _ in range(10)))

        assert listener.alive()
        assert db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    finally:
        await listener.stop()
        await db.dispose()
