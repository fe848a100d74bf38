"""Dead letters a person can see and send back: the service's DLQ, parked in its database.

What could not be processed lands in `<ns>.<service>.dlq` with its reason (`redelivery`,
or the broker past the delivery limit). A queue cannot be read without taking messages
off it, and taking and returning them (`basic_get` + nack) reorders them, bumps their
delivery count and hides them from whoever looks at the same moment. So each service
*parks* them: every `DEAD_LETTER_INTERVAL_S` it takes what the DLQ holds, writes each
to its `dead_letters` table (body, headers, reason, routing key) and only after that
commit acks it. A crash between the commit and the ack parks a message twice; sending
both copies back is harmless (below). From the table they are listed, paged and
inspected without disturbing anything, as long as needed.

Sending one back (*requeue*) publishes the body as it came, with its message id and
correlation id, to the service's own queue (through its retry exchange, key `back`:
only the service's own names), without the counts of its earlier tries, and marks the
row requeued in the same transaction, after the broker confirmed. The consumer's inbox
makes a copy of an event that was in fact handled once already a no-op, so a requeue
is safe to repeat; one that fails again is dead-lettered (and parked) again.

    python -m crm_kit.deadletters list [--all] [--limit N]   # with the service's env
    python -m crm_kit.deadletters show ID
    python -m crm_kit.deadletters requeue ID [ID ...] | --all

and, for an admin through the gateway, `/api/admin/<service>/dead-letters` (`routes`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from datetime import datetime
from typing import Any

import aio_pika
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from . import errors
from .db import Database, kit_metadata
from .http import Page, PageParams
from .publishing import ConfirmedPublisher, connected
from .queries import fetch_rows_page
from .settings import ServiceSettings
from .topology import Declarations

log = logging.getLogger(__name__)

dead_letters = Table(
    "dead_letters",
    kit_metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("message_id", String(200)),
    Column("correlation_id", String(200)),
    Column("routing_key", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("requeued_at", DateTime(timezone=True)),
    Index("ix_dead_letters_parked", "id", postgresql_where=text("requeued_at IS NULL")),
)

#: Messages taken off the DLQ per transaction.
PARK_BATCH = 100
#: How long stopping waits for the parking to end and its connection to close.
STOP_TIMEOUT_S = 5.0
#: Headers of a dead letter's earlier life that a requeued copy starts without.
SPENT_HEADERS = ("x-attempt", "x-waits", "x-waiting-since", "x-last-error", "x-dead-letter-reason", "x-death")


class DeadLetter(BaseModel):
    """A dead letter as listed."""

    id: int
    message_id: str | None
    routing_key: str
    reason: str
    parked_at: datetime
    requeued_at: datetime | None


class DeadLetterDetail(DeadLetter):
    """One dead letter with what it carried: its headers and its body (as text)."""

    correlation_id: str | None
    headers: dict[str, Any]
    body: str


class RequeueMany(BaseModel):
    """Which parked dead letters to send back: `ids`, or `all` of them."""

    ids: list[int] = Field(default_factory=list, max_length=1000)
    all: bool = False


class Requeued(BaseModel):
    requeued: int


class DeadLetterStore:
    """One service's parked dead letters: parking, listing, inspecting, requeueing."""

    def __init__(
        self,
        db: Database,
        publisher: ConfirmedPublisher,
        declarations: Declarations,
        amqp_url: str,
        *,
        interval_s: float = 5.0,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.declarations = declarations
        self.amqp_url = amqp_url
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    # -- parking ---------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.declarations.names.service}-dead-letters")

    async def stop(self) -> None:
        # Bounded: nothing is lost by giving up (an unacked message stays in the DLQ),
        # and shutdown must not wait on a broker that does not answer.
        try:
            if self._task is not None:
                self._task.cancel()
                await asyncio.wait_for(asyncio.gather(self._task, return_exceptions=True), STOP_TIMEOUT_S)
            if self._connection is not None:
                await asyncio.wait_for(self._connection.close(), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("dead-letter parking did not stop within %.0fs", STOP_TIMEOUT_S)
        self._task = self._connection = None

    async def _run(self) -> None:
        while True:
            try:
                await self.park()
            except Exception as exc:  # the broker or the database may be away a while
                log.warning("parking dead letters failed: %s", exc)
            await asyncio.sleep(self.interval_s)

    async def park(self) -> int:
        """Move what the DLQ holds into the table; how many were parked."""
        parked = 0
        if self._connection is None:
            self._connection = await aio_pika.connect_robust(self.amqp_url)
        # A channel per pass: closing it gives back whatever was taken and not parked.
        channel = await self._connection.channel()
        try:
            queue = await channel.get_queue(self.declarations.names.dead_letter_queue, ensure=False)
            while True:
                batch = await self._take(queue)
                if not batch:
                    return parked
                async with self.db.transaction() as session:
                    await session.execute(dead_letters.insert(), [_row(m) for m in batch])
                # Committed: only now are they off the queue (a crash before parks them twice).
                await batch[-1].ack(multiple=True)
                parked += len(batch)
                log.info("parked %d dead letters", len(batch))
        finally:
            await channel.close()

    @staticmethod
    async def _take(queue: aio_pika.abc.AbstractQueue) -> list[aio_pika.abc.AbstractIncomingMessage]:
        batch: list[aio_pika.abc.AbstractIncomingMessage] = []
        while len(batch) < PARK_BATCH:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            batch.append(message)
        return batch

    # -- reading ---------------------------------------------------------------------

    async def page(self, page: PageParams, *, requeued_too: bool = False) -> Page[DeadLetter]:
        """Newest first; only those still parked unless `requeued_too`."""
        query = select(*(dead_letters.c[f] for f in DeadLetter.model_fields))
        if not requeued_too:
            query = query.where(dead_letters.c.requeued_at.is_(None))
        async with self.db.transaction() as session:
            rows, total = await fetch_rows_page(session, query, page, dead_letters.c.id.desc())
        return Page(items=[DeadLetter.model_validate(r._mapping) for r in rows], total=total)

    async def get(self, dead_letter_id: int) -> DeadLetterDetail:
        async with self.db.transaction() as session:
            row = (
                await session.execute(select(dead_letters).where(dead_letters.c.id == dead_letter_id))
            ).one_or_none()
        if row is None:
            raise errors.NotFound("dead letter", dead_letter_id)
        fields = dict(row._mapping)
        return DeadLetterDetail.model_validate({**fields, "body": fields["body"].decode("utf-8", "replace")})

    # -- sending back ------------------------------------------------------------------

    async def requeue(self, ids: list[int] | None) -> int:
        """Send back the parked dead letters `ids` (all of them if None), in the order
        they were parked; how many. A requeued one is not sent again."""
        query = select(dead_letters).where(dead_letters.c.requeued_at.is_(None)).order_by(dead_letters.c.id)
        if ids is not None:
            query = query.where(dead_letters.c.id.in_(ids))
        sent = 0
        while True:
            async with self.db.transaction() as session:
                rows = (
                    await session.execute(query.limit(PARK_BATCH).with_for_update(skip_locked=True))
                ).all()
                for row in rows:
                    await self._send_back(row)
                if rows:
                    await session.execute(
                        update(dead_letters)
                        .where(dead_letters.c.id.in_([r.id for r in rows]))
                        .values(requeued_at=func.now())
                    )
            sent += len(rows)
            if len(rows) < PARK_BATCH:
                return sent

    async def requeue_one(self, dead_letter_id: int) -> int:
        """Send back one dead letter: `NotFound` if there is none, `Conflict` if it was sent back before."""
        found = await self.get(dead_letter_id)
        if found.requeued_at is not None:
            raise errors.Conflict(
                f"dead letter {dead_letter_id} was requeued at {found.requeued_at.isoformat()}",
                code="dead_letter.requeued",
                params={"id": dead_letter_id, "requeued_at": found.requeued_at},
            )
        return await self.requeue([dead_letter_id])

    async def _send_back(self, row: Any) -> None:
        headers = {k: v for k, v in dict(row.headers or {}).items() if k not in SPENT_HEADERS}
        await self.publisher.publish(
            row.body,
            headers={**headers, "x-original-routing-key": row.routing_key, "x-requeued-dead-letter": row.id},
            message_id=row.message_id,
            correlation_id=row.correlation_id,
            message_type=row.routing_key or None,
            exchange=self.declarations.retry_exchange,
            routing_key="back",
        )


def _row(message: aio_pika.abc.AbstractIncomingMessage) -> dict[str, Any]:
    headers = _jsonable(dict(message.headers or {}))
    death = (headers.get("x-death") or [{}])[0] if isinstance(headers.get("x-death"), list) else {}
    reason = headers.get("x-dead-letter-reason") or (
        f"dead-lettered by RabbitMQ: {death.get('reason', 'unknown')}" if death else "no reason given"
    )
    return {
        "message_id": message.message_id,
        "correlation_id": message.correlation_id,
        "routing_key": str(headers.get("x-original-routing-key") or death.get("routing-keys", [""])[0] or ""),
        "reason": str(reason)[:4000],
        "body": message.body,
        "headers": headers,
    }


def _jsonable(value: Any) -> Any:
    """AMQP header values (bytes, datetimes, nested tables) as JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


async def _command(args: argparse.Namespace, settings: ServiceSettings) -> Any:
    db = Database(settings.database_url)
    try:
        async with connected(settings) as publisher:
            store = DeadLetterStore(db, publisher, Declarations(settings), settings.amqp_url)
            if args.command == "list":
                page = await store.page(PageParams(limit=args.limit), requeued_too=args.all)
                return page.model_dump(mode="json")
            if args.command == "show":
                return (await store.get(args.id)).model_dump(mode="json")
            if not args.ids and not args.all:
                raise errors.Invalid("name the dead letters to requeue, or --all", code="ids_or_all")
            return {"requeued": await store.requeue(None if args.all else args.ids)}
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crm_kit.deadletters",
        description="The service's dead letters (run with the service's environment).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the parked dead letters, newest first")
    listing.add_argument("--all", action="store_true", help="the requeued ones too")
    listing.add_argument("--limit", type=int, default=50)
    commands.add_parser("show", help="one dead letter, with its headers and body").add_argument(
        "id", type=int
    )
    requeue = commands.add_parser("requeue", help="send dead letters back to the service's queue")
    requeue.add_argument("ids", type=int, nargs="*")
    requeue.add_argument("--all", action="store_true", help="every parked one")
    args = parser.parse_args(argv)
    try:
        result = asyncio.run(_command(args, ServiceSettings()))
    except errors.DomainError as exc:
        print(f"refused: {exc}")
        return 2
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
