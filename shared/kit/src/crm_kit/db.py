"""One async engine and session factory per service process."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable, MetaData, Row, Table, event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from . import tracing

log = logging.getLogger(__name__)

#: Tables the kit itself owns in every service's database (outbox, inbox).
#: Each service's Alembic environment targets its own metadata and this one.
kit_metadata = MetaData()


class Model:
    """What every service's declarative base shares; a service's `models.py` starts with

        class Base(Model, DeclarativeBase):
            pass

    Each service keeps a base (and so a `MetaData`) of its own: the test run imports
    every service into one process, and two services may name a table alike.
    """

    # Server-side defaults (timestamps) come back with RETURNING on flush, so a response
    # never lazy-loads them outside the session.
    __mapper_args__ = {"eager_defaults": True}


def async_url(url: str) -> str:
    """Accept plain `postgresql://` URLs from the environment; the services speak asyncpg."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def with_database(url: str, name: str) -> str:
    """The URL of database `name` on the same server as `url`."""
    from sqlalchemy.engine import make_url

    return make_url(async_url(url)).set(database=name).render_as_string(hide_password=False)


def table_of(model: Any) -> Table:
    """A mapped class's table, for Core statements on it.

    An ORM insert of many rows goes through the ORM's bulk machinery (a tenth of a
    consumer's CPU per event under `make bench`); a hot statement whose rows nobody
    loads as objects is built on the table instead.
    """
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model!r} is not mapped to a table")
    return table


#: A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 5.0


#: Connections per service process: enough for the two cores' worth of work plus the
#: two held for LISTEN (the relay's and the staff directory's).
POOL_SIZE = 12
#: How long a unit of work waits for a pooled connection before it gives up (503).
POOL_TIMEOUT_S = 10.0


class Database:
    """A fixed pool: under load, work waits for a connection rather than opening one.

    With overflow connections (SQLAlchemy's default), a saturated API opened and closed
    a connection every few requests (a new Postgres backend, an SSL probe and a login
    each time): a fifth of a new connection per read through the gateway under
    `make bench`. Two cores cannot use more connections than the pool holds anyway.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = POOL_SIZE,
        pool_timeout_s: float = POOL_TIMEOUT_S,
        ping_after_idle_s: float = PING_AFTER_IDLE_S,
    ) -> None:
        self.url = async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout_s,
        )
        _ping_when_idle(self.engine, ping_after_idle_s)
        if tracing.enabled():
            tracing.instrument_engine(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # The same pool; each statement commits on its own, so no BEGIN and COMMIT.
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def read_row(self, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
        """The one row a Core `statement` selects, or None: outside any explicit
        transaction and without an ORM session.

        For the hottest reads (a record by its id, on every page a user opens). A
        statement is atomic and sees one snapshot on its own; BEGIN and COMMIT around it
        cost two more round trips, and the ORM session, its compile step and its
        loading were a quarter of the customers service's CPU per read under `make
        bench`. Build `statement` once, with `bindparam`s for `params`. Several
        statements that must agree with each other, and every write, belong in
        `transaction()`.
        """
        async with self._autocommit.connect() as conn:
            return (await conn.execute(statement, params)).one_or_none()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """`pool_pre_ping`, for connections that were idle a while only.

    SQLAlchemy's pre-ping costs three round trips on asyncpg (BEGIN, a ping, ROLLBACK)
    on every checkout: on a busy consumer, relay or API, more than the work itself. A
    connection used moments ago is as good as proven; one idle longer is pinged, and
    replaced if dead. One that died in between fails its first statement, which marks
    the pool's older connections stale too: a consumer retries that message, the relay
    its pass, and an API request answers 503 (see `crm_kit.errors`).
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def _used(dbapi_connection: Any, record: Any) -> None:
        record.info["crm_used_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        used_at = record.info.get("crm_used_at")
        if used_at is not None and time.monotonic() - used_at < idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool drops this connection and checks out another.
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


class Listener:
    """LISTEN on a Postgres channel, on a connection of its own: `on_notify()` runs for
    each NOTIFY committed on the channel (by any process sharing the database).

    Notifications are a hint, never the only way to learn something: while `alive()` is
    false (the connection broke), its users fall back to asking the database.
    """

    def __init__(self, db: Database, channel: str, on_notify: Callable[[], None]) -> None:
        self.db = db
        self.channel = channel
        self.on_notify = on_notify
        self._raw: Any = None

    async def start(self) -> bool:
        """Start listening; False (and a warning) if the database cannot be reached now."""
        try:
            raw = await self.db.engine.raw_connection()
            conn = raw.driver_connection
            assert conn is not None
            await conn.add_listener(self.channel, lambda *_: self.on_notify())
        except Exception as exc:
            log.warning("cannot LISTEN on %s: %s", self.channel, exc)
            return False
        self._raw = raw
        return True

    def alive(self) -> bool:
        return self._raw is not None and not self._raw.driver_connection.is_closed()

    async def restart_if_dead(self) -> bool:
        """Listen again if the connection broke; whether it is listening now."""
        if self.alive():
            return True
        await self.stop()
        return await self.start()

    async def stop(self) -> None:
        if self._raw is not None:
            try:
                self._raw.invalidate()
            except Exception:  # closing a dead connection is not worth a crash
                pass
            self._raw = None
