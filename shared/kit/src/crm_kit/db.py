"""One async engine and session factory per service process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)

#: Tables the kit itself owns in every service's database (outbox, inbox).
#: Each service's Alembic environment targets its own metadata and this one.
kit_metadata = MetaData()


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


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_timeout=10,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


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
