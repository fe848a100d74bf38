"""One async engine and session factory per service process."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Executable, MetaData, Row, Table, event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_

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


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long a service waits on its database before it gives up (`ServiceSettings`
    sets them from `DB_*` variables).

    Without them a connection that died silently (a failover, a partition: no reset,
    no FIN) hung a consumer batch, the relay or a request until the kernel gave up on
    the socket, a quarter of an hour later. `statement_s` and `lock_s` are Postgres's
    own `statement_timeout` and `lock_timeout` for every session of the pool (the
    server cancels, the connection stays good); `command_s` is asyncpg's, for a server
    that no longer answers at all (it must exceed `statement_s`, so a slow statement is
    cancelled by the server first); `connect_s` bounds opening a connection, `ping_s`
    the check of one that was idle. `idle_in_transaction_s` lets the server end a
    transaction whose client vanished, and its row locks (the outbox rows a relay held).
    The keepalives, on both ends of each TCP connection, find a peer that vanished
    while the connection was idle (the relay's LISTEN) within idle + interval x count.
    """

    statement_s: float = 30.0
    lock_s: float = 10.0
    command_s: float = 35.0
    connect_s: float = 10.0
    ping_s: float = 5.0
    idle_in_transaction_s: float = 60.0
    keepalive_idle_s: int = 30
    keepalive_interval_s: int = 10
    keepalive_count: int = 3

    def connect_args(self) -> dict[str, Any]:
        """asyncpg's `connect()` arguments for these timeouts."""

        def ms(seconds: float) -> str:
            return str(max(1, round(seconds * 1000)))

        return {
            "command_timeout": self.command_s,
            "timeout": self.connect_s,
            "server_settings": {
                "statement_timeout": ms(self.statement_s),
                "lock_timeout": ms(self.lock_s),
                "idle_in_transaction_session_timeout": ms(self.idle_in_transaction_s),
                "tcp_keepalives_idle": str(self.keepalive_idle_s),
                "tcp_keepalives_interval": str(self.keepalive_interval_s),
                "tcp_keepalives_count": str(self.keepalive_count),
            },
        }

    def keep_alive(self, conn: asyncpg.Connection) -> None:
        """The client's end of the keepalives (asyncpg takes no keepalive arguments):
        socket options on the connection's TCP socket. A Unix socket needs none."""
        # asyncpg exposes the socket no other way.
        sock = conn._transport.get_extra_info("socket")
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (
            ("TCP_KEEPIDLE", self.keepalive_idle_s),
            ("TCP_KEEPINTVL", self.keepalive_interval_s),
            ("TCP_KEEPCNT", self.keepalive_count),
            # Data sent and never acknowledged (a partition mid-statement) fails too.
            ("TCP_USER_TIMEOUT", round(self.command_s * 1000)),
        ):
            if hasattr(socket, option):  # Linux has them all; others some
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


#: SQLSTATEs that say the database cannot do any work *now*, through no fault of the
#: work: class 08 (connection exception), 25006 (a read-only transaction: a standby, or
#: a pool still on the old primary, after a failover), 53300 (too many connections),
#: 57P01-57P03 (an administrator's or a crash's shutdown, cannot connect now).
UNAVAILABLE_SQLSTATES = ("08", "25006", "53300", "57P01", "57P02", "57P03")
#: A statement cancelled by `statement_timeout` (57014) or `lock_timeout` (55P03).
TIMED_OUT_SQLSTATES = ("57014", "55P03")


def sqlstate(error: BaseException) -> str:
    """The SQLSTATE of a database error ('' if it carries none)."""
    orig = getattr(error, "orig", None)
    cause = orig.__cause__ if orig is not None else None
    return str(getattr(orig, "sqlstate", None) or getattr(cause, "sqlstate", None) or "")


def unavailable(error: BaseException) -> bool:
    """Whether a failure says the database cannot be used now (unreachable, the
    connection lost or silent past its timeout, read-only, shutting down, the pool
    exhausted) rather than anything about the work that met it."""
    if isinstance(error, ConnectionError | TimeoutError | OSError | exc.TimeoutError):
        return True
    if isinstance(error, exc.DBAPIError):
        return (
            bool(error.connection_invalidated)
            or isinstance(error, exc.InterfaceError | exc.OperationalError)
            or sqlstate(error).startswith(UNAVAILABLE_SQLSTATES)
        )
    return False


def timed_out(error: BaseException) -> bool:
    """Whether the server cancelled a statement past its statement or lock timeout."""
    return isinstance(error, exc.DBAPIError) and sqlstate(error) in TIMED_OUT_SQLSTATES


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
        timeouts: DatabaseTimeouts = DatabaseTimeouts(),
    ) -> None:
        self.url = async_url(url)
        self.timeouts = timeouts
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout_s,
            connect_args=timeouts.connect_args(),
        )
        _ping_when_idle(self.engine, ping_after_idle_s, timeouts)
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


def _ping_when_idle(engine: AsyncEngine, idle_s: float, timeouts: DatabaseTimeouts) -> None:
    """`pool_pre_ping`, for connections that were idle a while only.

    SQLAlchemy's pre-ping costs three round trips on asyncpg (BEGIN, a ping, ROLLBACK)
    on every checkout: on a busy consumer, relay or API, more than the work itself. A
    connection used moments ago is as good as proven; one idle longer is pinged, and
    replaced if dead. One that died in between fails its first statement, which marks
    the pool's older connections stale too: a consumer retries that message, the relay
    its pass, and an API request answers 503 (see `crm_kit.errors`).

    The ping has a timeout of its own (`timeouts.ping_s`): one that no longer answers
    (a partition) is replaced as a dead one is, rather than hanging the checkout.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    def _opened(dbapi_connection: Any, record: Any) -> None:
        timeouts.keep_alive(dbapi_connection.driver_connection)
        record.info["crm_used_at"] = time.monotonic()

    @event.listens_for(pool, "checkin")
    def _used(dbapi_connection: Any, record: Any) -> None:
        record.info["crm_used_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        used_at = record.info.get("crm_used_at")
        if used_at is not None and time.monotonic() - used_at < idle_s:
            return
        try:
            # Outside any transaction (just checked out): one round trip, bounded.
            await_(dbapi_connection.driver_connection.execute("SELECT 1", timeout=timeouts.ping_s))
        except Exception as error:
            # The pool drops this connection and checks out another.
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


class Listener:
    """LISTEN on a Postgres channel, on a connection of its own: `on_notify()` runs for
    each NOTIFY committed on the channel (by any process sharing the database), and
    `on_lost()` when that connection closes (killed, the server restarted, a keepalive
    found the peer gone), so its user can listen again at once.

    Notifications are a hint, never the only way to learn something: while `alive()` is
    false (the connection broke), its users fall back to asking the database.
    """

    def __init__(
        self,
        db: Database,
        channel: str,
        on_notify: Callable[[], None],
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.channel = channel
        self.on_notify = on_notify
        self.on_lost = on_lost
        self._raw: Any = None
        self._restarting = asyncio.Lock()

    async def start(self) -> bool:
        """Start listening; False (and a warning) if the database cannot be reached now.
        A connection that could not LISTEN goes back closed, never held."""
        raw: Any = None
        try:
            raw = await self.db.engine.raw_connection()
            conn = raw.driver_connection
            assert conn is not None
            await conn.add_listener(self.channel, lambda *_: self.on_notify())
            conn.add_termination_listener(lambda *_: self._lost(raw))
        except Exception as exc:
            log.warning("cannot LISTEN on %s: %s", self.channel, exc)
            if raw is not None:
                _discard(raw)
            return False
        self._raw = raw
        return True

    def _lost(self, raw: Any) -> None:
        if raw is self._raw and self.on_lost is not None:
            log.warning("the LISTEN connection on %s closed", self.channel)
            self.on_lost()

    def alive(self) -> bool:
        return self._raw is not None and not self._raw.driver_connection.is_closed()

    async def restart_if_dead(self) -> bool:
        """Listen again if the connection broke; whether it is listening now.

        One caller at a time listens again; the others, arriving meanwhile, are told
        "not listening" at once (each would otherwise open a connection of its own and
        hold it for good: every request of a service checks its staff listener, and a
        failover breaks it under all of them at the same moment)."""
        if self.alive():
            return True
        if self._restarting.locked():
            return False
        async with self._restarting:
            await self.stop()
            return await self.start()

    async def stop(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            _discard(raw)


def _discard(raw: Any) -> None:
    """Close a pooled connection for good (the pool opens another when it needs one)."""
    try:
        raw.invalidate()
    except Exception:  # closing a dead connection is not worth a crash
        pass
