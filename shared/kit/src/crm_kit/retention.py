"""Retention: the outbox and inbox keep a bounded history instead of growing forever.

One `Retention` per service process runs every `RETENTION_INTERVAL_S` (60 s):

- outbox: rows *sent* more than `OUTBOX_RETENTION_S` (7 days) after they were written
  are deleted; an unsent row is never deleted, however old. The week kept is the
  history an event replay re-publishes from.
- inbox: rows older than `INBOX_RETENTION_S` (7 days) are deleted. An inbox row is what
  makes a redelivered copy of an event a no-op, so the retention must exceed the
  longest redelivery (`max_attempts` x `retry_delay_s`, 5 minutes by default; the
  settings refuse less). It equals the outbox's by default, so an event still in a
  producer's history is still known to the consumers that handled it.

Deletes go by `RETENTION_BATCH_SIZE` (1000) rows, each batch its own short transaction
that locks its rows with `FOR UPDATE SKIP LOCKED`: a row the relay or a consumer holds
is skipped (taken on a later pass), so pruning never waits on them, and they never wait
longer than one batch on it. Several replicas prune side by side the same way.
After each pass the tables' sizes are refreshed from the catalogue (the planner's row
estimate and `pg_total_relation_size`, never `count(*)`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, Delete, delete, func, select, text, tuple_

from . import metrics
from .db import Database
from .inbox import inbox
from .outbox import outbox
from .settings import ServiceSettings

log = logging.getLogger(__name__)

TABLES = ("outbox", "inbox")


class Retention:
    """Prunes the service's outbox and inbox on a timer; see the module's docstring."""

    def __init__(
        self,
        db: Database,
        *,
        service: str,
        outbox_retention_s: float,
        inbox_retention_s: float,
        batch_size: int = 1000,
        interval_s: float = 60.0,
    ) -> None:
        self.db = db
        self.service = service
        self.outbox_retention = timedelta(seconds=outbox_retention_s)
        self.inbox_retention = timedelta(seconds=inbox_retention_s)
        self.batch_size = batch_size
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, db: Database, settings: ServiceSettings) -> Retention:
        return cls(
            db,
            service=settings.service_name,
            outbox_retention_s=settings.outbox_retention_s,
            inbox_retention_s=settings.inbox_retention_s,
            batch_size=settings.retention_batch_size,
            interval_s=settings.retention_interval_s,
        )

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.prune_once()
                await self.measure()
            except Exception as exc:  # the database may be gone for a while: try next time
                log.warning("retention pass failed: %s", exc)
            await asyncio.sleep(self.interval_s)

    async def prune_once(self) -> dict[str, int]:
        """Delete what is past its retention, batch by batch; how many rows per table."""
        return {
            "outbox": await self._prune("outbox", self._outbox_batch),
            "inbox": await self._prune("inbox", self._inbox_batch),
        }

    async def _prune(self, table: str, batch: Delete) -> int:
        deleted = 0
        while True:
            async with self.db.transaction() as session:
                # SKIP LOCKED never waits on a row; nor may anything else in the batch.
                await session.execute(text("SET LOCAL lock_timeout = '1s'"))
                result: CursorResult[Any] = await session.execute(batch)  # type: ignore[assignment]
                count = result.rowcount or 0
            deleted += count
            metrics.RETENTION_DELETED.labels(self.service, table).inc(count)
            if count < self.batch_size:
                return deleted
            await asyncio.sleep(0)  # let the relay and the consumers in between batches

    @property
    def _outbox_batch(self) -> Delete:
        due = (
            select(outbox.c.id)
            .where(
                outbox.c.published_at.is_not(None),
                outbox.c.created_at < func.now() - self.outbox_retention,
            )
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        return delete(outbox).where(outbox.c.id.in_(due.scalar_subquery()))

    @property
    def _inbox_batch(self) -> Delete:
        due = (
            select(inbox.c.consumer, inbox.c.event_id)
            .where(inbox.c.received_at < func.now() - self.inbox_retention)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        return delete(inbox).where(tuple_(inbox.c.consumer, inbox.c.event_id).in_(due))

    async def measure(self) -> None:
        """Refresh the tables' size metrics from the catalogue (cheap at any size)."""
        async with self.db.transaction() as session:
            rows: Any = await session.execute(_SIZES, {"tables": list(TABLES)})
            for name, estimate, size in rows:
                # -1 until the table was first vacuumed or analysed: nothing known yet.
                metrics.TABLE_ROWS.labels(self.service, name).set(max(0.0, float(estimate)))
                metrics.TABLE_BYTES.labels(self.service, name).set(size)


_SIZES = text(
    "SELECT relname, reltuples, pg_total_relation_size(oid) FROM pg_class "
    "WHERE relname = ANY(:tables) AND relkind = 'r' AND pg_table_is_visible(oid)"
)
