"""Event replay: re-publish a service's past events to one queue, for a new subscriber.

A subscriber bound today missed what was published before. The outbox keeps every sent
event for `OUTBOX_RETENTION_S` (7 days, `crm_kit.retention`); a replay publishes the sent
rows of the given routing keys written since a time, in the order they were written
(outbox id), each with its original envelope (the same `event_id`, so an idempotent
subscriber takes each once, even one it also got live), at a bounded rate.

They go to one queue only: through `<ns>.replay`, a direct exchange every service
declares, with the queue's name as the routing key. The subscriber binds its queue to
it with that key before it asks; nobody else is bound to that key, so no other
subscriber gets a second copy (the topic exchange would hand one to every subscriber of
those keys, and the default exchange, which reaches every queue, is no service's to
write to). A queue that does not exist, or is not bound, is refused, and so is a routing
key the service does not publish.

Asked for by an admin with `POST /api/admin/<service>/events/replay` (`routes`), or by
an operator with the service's environment::

    python -m crm_kit.replay --types customers.customer.promoted.v1 \\
        --since 2026-12-01T00:00:00Z --queue my-system.promotions [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import time
from datetime import datetime
from typing import Any

import aio_pika
from faststream.rabbit import RabbitExchange
from pydantic import AwareDatetime, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Select, func, select

from crm_contracts import REGISTRY

from .db import Database
from .outbox import outbox
from .publishing import ConfirmedPublisher, PublishFailed, connected
from .settings import ServiceSettings
from .topology import Declarations

log = logging.getLogger(__name__)

#: Rows read per query while replaying.
PAGE = 500
QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")


class ReplayRequest(BaseModel):
    """What to replay, and where to."""

    routing_keys: list[str] = Field(min_length=1, max_length=50)
    since: AwareDatetime
    queue: str = Field(min_length=1, max_length=200)
    rate_per_s: float = Field(default=100.0, gt=0, le=1000)

    @field_validator("queue")
    @classmethod
    def _queue_name(cls, value: str) -> str:
        if not QUEUE_NAME.match(value) or value.startswith("amq."):
            raise PydanticCustomError(
                "replay.queue_name", "a queue name is letters, digits and . _ : - (not amq.*), at most 200"
            )
        return value


class ReplayStarted(BaseModel):
    """A replay under way: how many events it publishes to the queue."""

    queue: str
    routing_keys: list[str]
    since: datetime
    count: int
    rate_per_s: float


class ReplayRefused(Exception):
    """A replay that cannot be done as asked; `status` is the HTTP answer (404 or 422)."""

    def __init__(self, status: int, detail: str, *, code: str, **params: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.params = params


class Replayer:
    """Replays one service's outbox history (see the module's docstring)."""

    def __init__(
        self, db: Database, publisher: ConfirmedPublisher, declarations: Declarations, amqp_url: str
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.exchange: RabbitExchange = declarations.replay_exchange
        self.service = declarations.names.service
        self.amqp_url = amqp_url
        self._tasks: set[asyncio.Task[int]] = set()

    async def start(self, request: ReplayRequest) -> ReplayStarted:
        """Check the request, publish the first event (which proves the queue is bound),
        and the rest in the background; `ReplayRefused` if it cannot be done."""
        self.check_keys(request.routing_keys)
        await self.check_queue(request.queue)
        count = await self.count(request)
        rows = self._rows(request)
        first = await anext(rows, None)
        if first is not None:
            try:
                await self._publish(first, request.queue)
            except PublishFailed as exc:
                bind = f"{self.exchange.name} with key {request.queue}"
                raise ReplayRefused(
                    422,
                    f"queue {request.queue} is not bound to {bind}",
                    code="replay.not_bound",
                    queue=request.queue,
                ) from exc
            task = asyncio.create_task(self._pace(rows, request, sent=1), name=f"{self.service}-replay")
            self._tasks.add(task)
            task.add_done_callback(self._done)
        log.info("replaying %d events of %s to %s", count, request.routing_keys, request.queue)
        return ReplayStarted(**request.model_dump(), count=count)

    async def run(self, request: ReplayRequest) -> int:
        """The whole replay, waited for (the command); how many events were published."""
        started = await self.start(request)
        await asyncio.gather(*self._tasks)
        return started.count

    def check_keys(self, routing_keys: list[str]) -> None:
        foreign = [k for k in routing_keys if k not in REGISTRY or k.split(".", 1)[0] != self.service]
        if foreign:
            raise ReplayRefused(
                422,
                f"{self.service} does not publish {', '.join(sorted(foreign))}",
                code="replay.not_published",
                events=sorted(foreign),
            )

    async def check_queue(self, queue: str) -> None:
        connection = await aio_pika.connect(self.amqp_url)
        try:
            channel = await connection.channel()
            await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity as exc:
            raise ReplayRefused(404, f"no queue {queue}", code="replay.no_queue", queue=queue) from exc
        finally:
            await connection.close()

    async def count(self, request: ReplayRequest) -> int:
        async with self.db.transaction() as session:
            return int((await session.execute(_history(request, select(func.count())))).scalar_one())

    async def stop(self) -> None:
        """Cancel the replays under way (a replay may simply be asked for again)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[int]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("replay failed: %s", task.exception())

    async def _rows(self, request: ReplayRequest) -> Any:
        """The history's rows in id order, a page at a time."""
        after = 0
        while True:
            query = _history(request, select(outbox)).where(outbox.c.id > after).order_by(outbox.c.id)
            async with self.db.transaction() as session:
                page = (await session.execute(query.limit(PAGE))).all()
            for row in page:
                yield row
            if len(page) < PAGE:
                return
            after = page[-1].id

    async def _pace(self, rows: Any, request: ReplayRequest, *, sent: int) -> int:
        """Publish the rest of `rows`, at most `rate_per_s` a second counting from now."""
        began = time.monotonic() - sent / request.rate_per_s
        async for row in rows:
            delay = began + sent / request.rate_per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._publish(row, request.queue)
            sent += 1
        log.info("replayed %d events to %s", sent, request.queue)
        return sent

    async def _publish(self, row: Any, queue: str) -> None:
        await self.publisher.publish(
            row.body,
            exchange=self.exchange,
            routing_key=queue,
            message_id=str(row.event_id),
            correlation_id=row.correlation_id,
            message_type=row.routing_key,
            headers={**(row.headers or {}), "x-original-routing-key": row.routing_key, "x-replayed": True},
        )


def _history(request: ReplayRequest, query: Select[Any]) -> Select[Any]:
    """Sent rows of the keys, written since the time (unsent ones are still to be published)."""
    return query.select_from(outbox).where(
        outbox.c.routing_key.in_(request.routing_keys),
        outbox.c.created_at >= request.since,
        outbox.c.published_at.is_not(None),
    )


async def replay_from_env(request: ReplayRequest, settings: ServiceSettings) -> int:
    """The command's work: connect with the service's settings, replay, wait for the end."""
    db = Database(settings.database_url)
    declarations = Declarations(settings)
    try:
        async with connected(settings) as publisher:
            await publisher.broker.declare_exchange(declarations.replay_exchange)
            return await Replayer(db, publisher, declarations, settings.amqp_url).run(request)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crm_kit.replay",
        description="Re-publish this service's past events to one queue (run with the service's env).",
    )
    parser.add_argument("--types", required=True, help="routing keys, comma-separated")
    parser.add_argument("--since", required=True, help="ISO time with a zone, e.g. 2026-12-01T00:00:00Z")
    parser.add_argument("--queue", required=True, help="the queue, bound to <ns>.replay with its name")
    parser.add_argument("--rate", type=float, default=100.0, help="events per second (default 100)")
    args = parser.parse_args(argv)
    try:
        request = ReplayRequest(
            routing_keys=[k.strip() for k in args.types.split(",") if k.strip()],
            since=args.since,
            queue=args.queue,
            rate_per_s=args.rate,
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        count = asyncio.run(replay_from_env(request, ServiceSettings()))
    except ReplayRefused as exc:
        print(f"refused: {exc.detail}")
        return 2
    print(f"replayed {count} events to {request.queue}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
