"""The transactional outbox against a real Postgres and RabbitMQ.

A probe queue bound to the namespace's exchange plays the consumer: what arrives
there is what every subscriber of the event would get.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from sqlalchemy import func, select, text

from crm_contracts import Envelope, Event, decode
from crm_kit import context
from crm_kit.bus import EventBus
from crm_kit.db import Database
from crm_kit.outbox import NOTIFY_CHANNEL, OutboxRelay, emit, outbox
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra

pytestmark = pytest.mark.integration

SERVICES = ["outboxsvc"]
Eventually = Callable[..., Awaitable[Any]]


class ThingPinged(Event, routing_key="outboxtest.thing.pinged.v1"):
    n: int


class ThingStranded(Event, routing_key="outboxtest.thing.stranded.v1"):
    """Nobody subscribes to this one until the test binds a queue."""

    n: int


class Probe:
    """A queue bound to the events exchange; keeps every message it was given."""

    def __init__(self, channel: AbstractChannel, queue: AbstractQueue, exchange: str) -> None:
        self.channel = channel
        self.queue = queue
        self.exchange = exchange
        self.messages: list[AbstractIncomingMessage] = []

    async def bind(self, routing_key: str) -> None:
        await self.queue.bind(self.exchange, routing_key=routing_key)

    async def collect(self) -> list[AbstractIncomingMessage]:
        while (message := await self.queue.get(no_ack=True, fail=False, timeout=5)) is not None:
            self.messages.append(message)
        return self.messages

    def copies_of(self, event_id: uuid.UUID) -> list[AbstractIncomingMessage]:
        return [m for m in self.messages if m.message_id == str(event_id)]

    async def reset(self) -> None:
        await self.queue.purge()
        self.messages = []


@pytest.fixture(scope="module")
async def bus(infra: Infra, database: Database, namespace: str) -> AsyncIterator[EventBus]:
    settings = ServiceSettings(
        service_name="outboxsvc",
        amqp_url=infra.amqp_url,
        database_url=database.url,
        bus_namespace=namespace,
        publish_timeout_s=5.0,
    )
    bus = EventBus(settings, database)
    await bus.start()
    yield bus
    await bus.stop()


@pytest.fixture(scope="module")
async def probe(infra: Infra, bus: EventBus) -> AsyncIterator[Probe]:
    connection = await aio_pika.connect(infra.amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    probe = Probe(channel, queue, bus.topology.exchange)
    await probe.bind(ThingPinged.routing_key)
    yield probe
    await connection.close()


@pytest.fixture(autouse=True)
async def clean(database: Database, probe: Probe) -> None:
    """Every test starts with an empty outbox and an empty probe queue."""
    async with database.transaction() as session:
        await session.execute(outbox.delete())
    await probe.queue.unbind(probe.exchange, routing_key=ThingStranded.routing_key)
    await probe.reset()


StartRelay = Callable[..., Awaitable[OutboxRelay]]


@pytest.fixture
async def start_relay(database: Database, bus: EventBus) -> AsyncIterator[StartRelay]:
    """Start relays like a service replica would; all are stopped after the test."""
    started: list[OutboxRelay] = []

    async def start(
        *, poll_interval_s: float = 0.2, batch_size: int = 500, publish: Any = None, linger_s: float = 0.0
    ) -> OutboxRelay:
        relay = OutboxRelay(
            database,
            publish or bus.publish,
            service="outboxsvc",
            batch_size=batch_size,
            poll_interval_s=poll_interval_s,
            linger_s=linger_s,
        )
        await relay.start()
        started.append(relay)
        return relay

    yield start
    await asyncio.gather(*(relay.stop() for relay in started))


async def outbox_row(database: Database, event_id: uuid.UUID) -> Any:
    async with database.transaction() as session:
        return (await session.execute(select(outbox).where(outbox.c.event_id == event_id))).one_or_none()


async def pending(database: Database) -> int:
    async with database.transaction() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                )
            ).scalar_one()
        )


async def emit_committed(database: Database, event: Event, correlation_id: str = "flow") -> Envelope:
    token = context.correlation_id.set(correlation_id)
    try:
        async with database.transaction() as session:
            return await emit(session, event)
    finally:
        context.correlation_id.reset(token)


async def test_a_committed_event_is_published_once_and_marked_sent(
    database: Database, probe: Probe, start_relay: StartRelay, eventually: Eventually
) -> None:
    await start_relay()
    envelope = await emit_committed(database, ThingPinged(n=1), correlation_id="flow-1")

    await eventually(probe.collect, lambda ms: len(ms) >= 1, what="the event on the probe queue")
    row = await eventually(
        lambda: outbox_row(database, envelope.event_id),
        lambda r: r.published_at is not None,
        what="the row marked sent",
    )
    await asyncio.sleep(0.6)  # a few more relay passes: nothing is sent twice
    await probe.collect()

    assert len(probe.messages) == 1
    message = probe.messages[0]
    assert message.message_id == str(envelope.event_id)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.correlation_id == "flow-1"
    assert message.routing_key == "outboxtest.thing.pinged.v1"
    assert message.content_type == "application/json"
    received = decode(message.body)
    assert received == envelope
    assert received.payload(ThingPinged) == ThingPinged(n=1)
    assert row.attempts == 0
    assert row.last_error is None
    assert await pending(database) == 0


async def test_a_rolled_back_transaction_leaves_no_row_and_publishes_nothing(
    database: Database, probe: Probe, start_relay: StartRelay, eventually: Eventually
) -> None:
    await start_relay()

    class BusinessRuleBroken(Exception):
        pass

    with pytest.raises(BusinessRuleBroken):
        async with database.transaction() as session:
            rolled_back = await emit(session, ThingPinged(n=2))
            raise BusinessRuleBroken

    assert await outbox_row(database, rolled_back.event_id) is None
    # A later committed event shows the relay has had its chance to publish.
    marker = await emit_committed(database, ThingPinged(n=3))
    await eventually(
        probe.collect,
        lambda ms: any(m.message_id == str(marker.event_id) for m in ms),
        what="the committed marker event",
    )

    assert probe.copies_of(rolled_back.event_id) == []
    assert [m.message_id for m in probe.messages] == [str(marker.event_id)]


async def test_a_row_committed_while_no_relay_runs_is_published_when_one_starts(
    database: Database, probe: Probe, start_relay: StartRelay, eventually: Eventually
) -> None:
    """The service crashed after the commit and before the publish."""
    envelope = await emit_committed(database, ThingPinged(n=4))
    await asyncio.sleep(0.3)
    assert await probe.collect() == []
    assert (await outbox_row(database, envelope.event_id)).published_at is None

    await start_relay()  # the restarted process

    await eventually(
        lambda: outbox_row(database, envelope.event_id),
        lambda r: r.published_at is not None,
        what="the row marked sent",
    )
    await probe.collect()
    assert len(probe.copies_of(envelope.event_id)) == 1
    assert len(probe.messages) == 1


async def test_polling_publishes_a_row_that_sent_no_notify(
    database: Database, probe: Probe, start_relay: StartRelay, eventually: Eventually
) -> None:
    await start_relay(poll_interval_s=0.3)
    await asyncio.sleep(0.3)
    envelope = Envelope.wrap(ThingPinged(n=5), correlation_id="backfill")
    async with database.transaction() as session:  # e.g. a data migration: no NOTIFY
        await session.execute(
            outbox.insert().values(
                event_id=envelope.event_id,
                routing_key=ThingPinged.routing_key,
                correlation_id=envelope.correlation_id,
                body=envelope.model_dump_json().encode(),
            )
        )

    await eventually(probe.collect, lambda ms: len(ms) >= 1, what="the polled row published")
    assert len(probe.copies_of(envelope.event_id)) == 1


async def test_an_unroutable_event_stays_pending_with_backoff_then_is_delivered_once_routable(
    database: Database, probe: Probe, start_relay: StartRelay, eventually: Eventually
) -> None:
    await start_relay(poll_interval_s=0.2)
    stranded = await emit_committed(database, ThingStranded(n=6))
    routable = await emit_committed(database, ThingPinged(n=7))

    row = await eventually(
        lambda: outbox_row(database, stranded.event_id),
        lambda r: r.attempts >= 1,
        what="a failed publish recorded on the row",
    )
    assert row.published_at is None
    assert "unroutable" in row.last_error
    assert "outboxtest.thing.stranded.v1" in row.last_error
    assert row.next_attempt_at is not None
    # One refused event does not hold up the others.
    await eventually(
        probe.collect,
        lambda ms: any(m.message_id == str(routable.event_id) for m in ms),
        what="the routable event",
    )

    # Backed off, not retried on every 0.2 s pass (that would be ~10 tries by now).
    await asyncio.sleep(2.0)
    row = await outbox_row(database, stranded.event_id)
    assert row.published_at is None
    assert 1 <= row.attempts <= 3
    assert probe.copies_of(stranded.event_id) == []

    await probe.bind(ThingStranded.routing_key)  # a subscriber appears

    row = await eventually(
        lambda: outbox_row(database, stranded.event_id),
        lambda r: r.published_at is not None,
        what="the stranded row published once a queue is bound",
    )
    await asyncio.sleep(0.6)
    await probe.collect()
    assert len(probe.copies_of(stranded.event_id)) == 1
    assert len(probe.copies_of(routable.event_id)) == 1
    assert row.attempts >= 1  # the history of failures stays on the row
    assert await pending(database) == 0


async def test_two_relays_publish_each_of_1000_rows_exactly_once(
    database: Database,
    probe: Probe,
    bus: EventBus,
    start_relay: StartRelay,
    eventually: Eventually,
) -> None:
    emitted: set[str] = set()
    for _ in range(10):
        async with database.transaction() as session:
            for n in range(100):
                emitted.add(str((await emit(session, ThingPinged(n=n))).event_id))
    assert await pending(database) == 1000

    published_by = [0, 0]

    def counting(replica: int) -> Any:
        async def publish(routing_key: str, body: bytes, properties: dict[str, Any]) -> None:
            # Hold the batch's locks a moment, as a busy replica would, so the two
            # replicas really do run side by side.
            await asyncio.sleep(0.02)
            await bus.publish(routing_key, body, properties)
            published_by[replica] += 1

        return publish

    await asyncio.gather(
        start_relay(batch_size=50, publish=counting(0)),
        start_relay(batch_size=50, publish=counting(1)),
    )
    await eventually(lambda: pending(database), lambda n: n == 0, what="every row published")
    # Every confirmed publish is in the probe queue by now: drain it.
    await eventually(probe.collect, lambda ms: len(ms) >= 1000, what="1000 messages")
    await asyncio.sleep(0.5)
    await probe.collect()

    ids = [m.message_id for m in probe.messages]
    assert len(ids) == 1000
    assert set(ids) == emitted
    assert sum(published_by) == 1000
    assert published_by[0] > 0 and published_by[1] > 0, published_by
    bodies = {str(decode(m.body).event_id) for m in probe.messages}
    assert bodies == emitted


async def test_a_commit_wakes_the_relay_long_before_its_poll_interval(
    database: Database, probe: Probe, start_relay: StartRelay, eventually: Eventually
) -> None:
    await start_relay(poll_interval_s=30.0)
    await asyncio.sleep(1.0)  # its first pass is over; it now sleeps until woken or 30 s

    envelope = await emit_committed(database, ThingPinged(n=8))

    # Functional, not a benchmark: without the NOTIFY it would wait ~30 s.
    await eventually(probe.collect, lambda ms: len(ms) >= 1, timeout=10.0, what="the event, woken by NOTIFY")
    assert len(probe.copies_of(envelope.event_id)) == 1


async def test_after_its_listen_connection_is_killed_a_commit_still_wakes_the_relay_at_once(
    database: Database, probe: Probe, start_relay: StartRelay, eventually: Eventually
) -> None:
    """The LISTEN connection dies (pg_terminate_backend, a failover) while every relay pass
    succeeds: the relay listens again by itself, it does not poll for the rest of its life."""
    listening = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        f" AND query LIKE 'LISTEN %{NOTIFY_CHANNEL}%'"
    )
    await start_relay(poll_interval_s=30.0)
    await asyncio.sleep(1.0)
    async with database.transaction() as session:
        [killed] = (await session.execute(listening)).scalars().all()
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})

    async def listeners() -> list[int]:
        async with database.transaction() as session:
            return list((await session.execute(listening)).scalars().all())

    again = await eventually(listeners, lambda pids: len(pids) == 1, timeout=5.0, what="a LISTEN again")
    assert again != [killed]
    envelope = await emit_committed(database, ThingPinged(n=9))
    await eventually(probe.collect, lambda ms: len(ms) >= 1, timeout=5.0, what="the event, woken by NOTIFY")
    assert len(probe.copies_of(envelope.event_id)) == 1


async def test_commits_made_while_the_relay_lingers_go_out_in_its_one_pass(
    database: Database, bus: EventBus, probe: Probe, start_relay: StartRelay, eventually: Eventually
) -> None:
    """Woken by a commit, the relay waits `linger_s` for the next ones: at an everyday
    rate the events of a few milliseconds travel together, and every consumer takes
    them in one transaction (issue 18)."""
    passes: list[int] = []
    relay = await start_relay(poll_interval_s=30, linger_s=0.3)
    original = relay.relay_once

    async def counted() -> int:
        sent = await original()
        if sent:
            passes.append(sent)
        return sent

    relay.relay_once = counted  # type: ignore[method-assign]
    await asyncio.sleep(0.1)  # the relay waits for a commit
    for n in range(3):
        await emit_committed(database, ThingPinged(n=n))
        await asyncio.sleep(0.05)  # well inside the linger

    await eventually(probe.collect, lambda ms: len(ms) >= 3, what="the three events on the probe queue")
    assert passes == [3]
    assert await pending(database) == 0
