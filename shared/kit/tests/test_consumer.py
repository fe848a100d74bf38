"""The event consumer (`bus.EventBus` + `bus.Handlers`) against a real RabbitMQ and Postgres.

Events are published straight into the namespace's exchange with aio-pika, as another
service's relay would; the handlers write rows to a test table, which is what a user
of the service would see.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage
from prometheus_client import REGISTRY as METRICS
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, Event, decode
from crm_kit import context
from crm_kit.acks import Ledger, Settle
from crm_kit.bus import EventBus
from crm_kit.db import Database
from crm_kit.handlers import Handlers, Transient
from crm_kit.outbox import emit, outbox
from crm_kit.publishing import PublishFailed
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra, bus_policies, queue_depth

pytestmark = pytest.mark.integration

SERVICE = "testsvc"
SERVICES = [SERVICE, "testsvcidle"]
RETRY_DELAY_S = 1.0
MAX_ATTEMPTS = 3
Eventually = Callable[..., Awaitable[Any]]

TEST_METADATA = MetaData()
handled = Table(
    "handled",
    TEST_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Deliberately not unique: only the inbox may stop a second effect.
    Column("event_id", Uuid, nullable=False),
    Column("label", String(100), nullable=False),
    Column("correlation_id", String(100)),
)


class Pinged(Event, routing_key="testsvc.thing.pinged.v1"):
    label: str


class Wobbled(Event, routing_key="testsvc.thing.wobbled.v1"):
    """Its handler fails twice (a prerequisite missing, then a blip), then succeeds."""

    label: str


class Doomed(Event, routing_key="testsvc.thing.doomed.v1"):
    """Its handler always fails."""

    label: str


class Traced(Event, routing_key="testsvc.thing.traced.v1"):
    """Its handler emits an `Echoed` through the outbox."""

    label: str


class Echoed(Event, routing_key="testsvc.thing.echoed.v1"):
    label: str


class Orphaned(Event, routing_key="testsvc.thing.orphaned.v1"):
    """No handler in this service."""

    label: str


#: When each handler was called, per event id (monotonic seconds).
calls: dict[uuid.UUID, list[float]] = defaultdict(list)
#: What the handler of `Traced` saw in the context, per event id.
seen_context: dict[uuid.UUID, tuple[str | None, uuid.UUID | None]] = {}

handlers = Handlers()


async def record(session: AsyncSession, envelope: Envelope, label: str) -> None:
    await session.execute(
        handled.insert().values(
            event_id=envelope.event_id, label=label, correlation_id=context.correlation_id.get()
        )
    )


@handlers.handles(Pinged)
async def on_pinged(session: AsyncSession, event: Pinged, envelope: Envelope) -> None:
    calls[envelope.event_id].append(time.monotonic())
    await record(session, envelope, event.label)


@handlers.handles(Wobbled)
async def on_wobbled(session: AsyncSession, event: Wobbled, envelope: Envelope) -> None:
    calls[envelope.event_id].append(time.monotonic())
    # The row is written before the failure: the rollback must take it away again.
    await record(session, envelope, event.label)
    tries = len(calls[envelope.event_id])
    if tries == 1:
        raise Transient("customer not known yet")
    if tries == 2:
        raise ConnectionError("database went away")


class Awaited(Event, routing_key="testsvc.thing.awaited.v1"):
    """Its prerequisite arrives only after more tries than MAX_ATTEMPTS allows a failure."""

    label: str


@handlers.handles(Awaited)
async def on_awaited(session: AsyncSession, event: Awaited, envelope: Envelope) -> None:
    calls[envelope.event_id].append(time.monotonic())
    if len(calls[envelope.event_id]) <= MAX_ATTEMPTS + 1:
        raise Transient("the account is not open yet")
    await record(session, envelope, event.label)


@handlers.handles(Doomed)
async def on_doomed(session: AsyncSession, event: Doomed, envelope: Envelope) -> None:
    calls[envelope.event_id].append(time.monotonic())
    await record(session, envelope, event.label)
    raise RuntimeError("always broken")


@handlers.handles(Traced)
async def on_traced(session: AsyncSession, event: Traced, envelope: Envelope) -> None:
    calls[envelope.event_id].append(time.monotonic())
    seen_context[envelope.event_id] = (context.correlation_id.get(), context.event_id.get())
    await record(session, envelope, event.label)
    await emit(session, Echoed(label=event.label))


class Stranded(Event, routing_key="testsvc.thing.stranded.v1"):
    """Its handler fails with ConnectionError while `database_down` is set (an outage)."""

    label: str


database_down = False
#: Tries of `Stranded` events made while the database was down.
tries_while_down: list[uuid.UUID] = []


@handlers.handles(Stranded)
async def on_stranded(session: AsyncSession, event: Stranded, envelope: Envelope) -> None:
    if database_down:
        tries_while_down.append(envelope.event_id)
        raise ConnectionError("connection refused")
    calls[envelope.event_id].append(time.monotonic())
    await record(session, envelope, event.label)


#: A second service with one handler; its consumer is started and stopped by a test.
idle = Handlers()


@idle.handles(Echoed)
async def on_echoed(session: AsyncSession, event: Echoed, envelope: Envelope) -> None:
    calls[envelope.event_id].append(time.monotonic())


# -- fixtures --------------------------------------------------------------------


def settings_for(infra: Infra, database: Database, namespace: str, service: str) -> ServiceSettings:
    return ServiceSettings(
        service_name=service,
        amqp_url=infra.amqp_url,
        database_url=database.url,
        bus_namespace=namespace,
        retry_delay_s=RETRY_DELAY_S,
        max_attempts=MAX_ATTEMPTS,
        delivery_limit=3,
        prefetch=16,
        publish_timeout_s=5.0,
    )


@pytest.fixture(scope="module", autouse=True)
async def policies(infra: Infra, database: Database, namespace: str) -> AsyncIterator[None]:
    """Dead-lettering, the retry delay and the delivery limit of both services' queues."""
    async with bus_policies(*(settings_for(infra, database, namespace, s) for s in SERVICES)):
        yield


@pytest.fixture(scope="module")
async def bus(infra: Infra, database: Database, namespace: str) -> AsyncIterator[EventBus]:
    bus = EventBus(settings_for(infra, database, namespace, SERVICE), database, handlers)
    await bus.start()
    yield bus
    await bus.stop()


class Publisher:
    """Another service's relay, as far as the consumer can tell."""

    def __init__(self, channel: AbstractChannel, exchange: AbstractExchange) -> None:
        self.channel = channel
        self.exchange = exchange

    async def raw(
        self,
        body: bytes,
        *,
        routing_key: str,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> str:
        message_id = message_id or str(uuid.uuid4())
        await self.exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                correlation_id=correlation_id,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
            mandatory=True,
        )
        return message_id

    async def event(
        self, event: Event, *, correlation_id: str = "flow", amqp_correlation: bool = True
    ) -> Envelope:
        envelope = Envelope.wrap(event, correlation_id=correlation_id)
        await self.envelope(envelope, amqp_correlation=amqp_correlation)
        return envelope

    async def envelope(self, envelope: Envelope, *, amqp_correlation: bool = True) -> None:
        await self.raw(
            envelope.model_dump_json().encode(),
            routing_key=envelope.routing_key,
            message_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id if amqp_correlation else None,
        )


@pytest.fixture(scope="module")
async def publisher(infra: Infra, bus: EventBus) -> AsyncIterator[Publisher]:
    connection = await aio_pika.connect(infra.amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(bus.topology.exchange)
    yield Publisher(channel, exchange)
    await connection.close()


class DeadLetters:
    """Reads the service's dead-letter queue; keeps what it read, by message id."""

    def __init__(self, channel: AbstractChannel, queue_name: str) -> None:
        self.channel = channel
        self.queue_name = queue_name
        self.by_id: dict[str, AbstractIncomingMessage] = {}

    async def collect(self) -> dict[str, AbstractIncomingMessage]:
        queue = await self.channel.get_queue(self.queue_name)
        while (message := await queue.get(no_ack=True, fail=False, timeout=5)) is not None:
            assert message.message_id is not None
            self.by_id[message.message_id] = message
        return self.by_id

    def reason(self, message_id: str) -> str:
        return str((self.by_id[message_id].headers or {})["x-dead-letter-reason"])


@pytest.fixture(scope="module")
async def dead_letters(infra: Infra, bus: EventBus) -> AsyncIterator[DeadLetters]:
    connection = await aio_pika.connect(infra.amqp_url)
    channel = await connection.channel()
    yield DeadLetters(channel, bus.topology.dead_letter_queue)
    await connection.close()


async def rows_of(database: Database, envelopes: list[Envelope]) -> list[Any]:
    """The handled rows of all of `envelopes`."""
    ids = [envelope.event_id for envelope in envelopes]
    async with database.transaction() as session:
        return list((await session.execute(select(handled).where(handled.c.event_id.in_(ids)))).all())


async def rows(database: Database, event_id: uuid.UUID | str) -> list[Any]:
    async with database.transaction() as session:
        return list(
            (
                await session.execute(select(handled).where(handled.c.event_id == uuid.UUID(str(event_id))))
            ).all()
        )


def counter(name: str, routing_key: str) -> float:
    return METRICS.get_sample_value(name, {"service": SERVICE, "routing_key": routing_key}) or 0.0


async def settled(infra: Infra, bus: EventBus) -> tuple[int, int]:
    """Messages waiting in the service's queue and in its retry queue."""
    return (
        await queue_depth(infra.amqp_url, bus.topology.queue),
        await queue_depth(infra.amqp_url, bus.topology.retry_queue),
    )


# -- tests -----------------------------------------------------------------------


async def test_one_event_makes_one_row(
    database: Database, publisher: Publisher, eventually: Eventually
) -> None:
    envelope = await publisher.event(Pinged(label="one"), correlation_id="flow-one")

    found = await eventually(lambda: rows(database, envelope.event_id), what="the handled row")

    assert len(found) == 1
    assert found[0].label == "one"
    assert found[0].correlation_id == "flow-one"


async def test_the_same_event_delivered_twice_has_one_effect(
    database: Database, publisher: Publisher, eventually: Eventually
) -> None:
    key = Pinged.routing_key
    consumed, duplicates = (
        counter("crm_messages_consumed_total", key),
        counter("crm_messages_duplicate_total", key),
    )
    envelope = Envelope.wrap(Pinged(label="twice"), correlation_id="flow-twice")

    await publisher.envelope(envelope)
    await publisher.envelope(envelope)  # e.g. the producer's relay crashed before marking it sent

    async def skipped() -> float:
        return counter("crm_messages_duplicate_total", key)

    await eventually(
        skipped,
        lambda n: n == duplicates + 1,
        what="the second copy skipped by the inbox",
    )
    assert counter("crm_messages_consumed_total", key) == consumed + 1
    assert len(await rows(database, envelope.event_id)) == 1
    assert len(calls[envelope.event_id]) == 1


async def test_malformed_messages_go_to_the_dead_letter_queue_with_the_reason(
    infra: Infra,
    bus: EventBus,
    database: Database,
    publisher: Publisher,
    dead_letters: DeadLetters,
    eventually: Eventually,
) -> None:
    key = Pinged.routing_key
    before = await publisher.event(Pinged(label="before the garbage"))

    bad_json = await publisher.raw(b"{this is not json", routing_key=key)
    bad_envelope = await publisher.raw(b'{"hello": "world"}', routing_key=key)
    wrong_payload = Envelope(
        event_type="testsvc.thing.pinged",
        version=1,
        source="testsvc",
        correlation_id="c",
        data={"labelle": 42},
    )
    bad_payload = await publisher.raw(
        wrong_payload.model_dump_json().encode(),
        routing_key=key,
        message_id=str(wrong_payload.event_id),
    )
    # Routed here by its AMQP key, but the envelope says it is something we do not handle.
    unhandled = Envelope.wrap(Orphaned(label="x"), correlation_id="c")
    no_handler = await publisher.raw(
        unhandled.model_dump_json().encode(), routing_key=key, message_id=str(unhandled.event_id)
    )

    after = await publisher.event(Pinged(label="after the garbage"))

    bad = [bad_json, bad_envelope, bad_payload, no_handler]
    await eventually(
        dead_letters.collect,
        lambda found: all(i in found for i in bad),
        what="four messages in the dead-letter queue",
    )
    await eventually(lambda: rows(database, after.event_id), what="the message after the garbage")
    assert len(await rows(database, before.event_id)) == 1
    assert len(await rows(database, after.event_id)) == 1

    assert dead_letters.reason(bad_json).startswith("envelope:")
    assert "json" in dead_letters.reason(bad_json).lower()
    assert "event_type" in dead_letters.reason(bad_envelope)
    assert "testsvc.thing.pinged.v1 payload" in dead_letters.reason(bad_payload)
    assert "label" in dead_letters.reason(bad_payload)
    assert "no handler for testsvc.thing.orphaned.v1" in dead_letters.reason(no_handler)
    # What is dead-lettered is the message as it came, to inspect or replay.
    assert dead_letters.by_id[bad_json].body == b"{this is not json"
    assert dead_letters.by_id[bad_json].delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    # At once: not retried first.
    for message_id in bad:
        assert (dead_letters.by_id[message_id].headers or {}).get("x-attempt") is None
    await eventually(lambda: settled(infra, bus), lambda d: d == (0, 0), what="empty queues")


async def test_a_transient_failure_is_retried_after_the_delay_until_it_succeeds(
    infra: Infra,
    bus: EventBus,
    database: Database,
    publisher: Publisher,
    dead_letters: DeadLetters,
    eventually: Eventually,
) -> None:
    envelope = await publisher.event(Wobbled(label="third time lucky"), correlation_id="flow-w")

    found = await eventually(lambda: rows(database, envelope.event_id), what="the handled row")
    await asyncio.sleep(RETRY_DELAY_S + 0.5)  # no further copy comes back

    assert len(found) == 1
    assert found[0].correlation_id == "flow-w"
    tries = calls[envelope.event_id]
    assert len(tries) == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(tries)]
    assert all(gap >= RETRY_DELAY_S for gap in gaps), gaps  # a delay, not a hot loop
    assert len(await rows(database, envelope.event_id)) == 1
    await dead_letters.collect()
    assert str(envelope.event_id) not in dead_letters.by_id
    assert await settled(infra, bus) == (0, 0)


async def test_a_message_waiting_for_a_prerequisite_does_not_use_up_its_tries(
    infra: Infra,
    bus: EventBus,
    database: Database,
    publisher: Publisher,
    dead_letters: DeadLetters,
    eventually: Eventually,
) -> None:
    envelope = await publisher.event(Awaited(label="patient"), correlation_id="flow-a")

    found = await eventually(lambda: rows(database, envelope.event_id), what="handled after waiting")

    assert len(found) == 1
    assert len(calls[envelope.event_id]) == MAX_ATTEMPTS + 2  # more waits than tries allowed
    await dead_letters.collect()
    assert str(envelope.event_id) not in dead_letters.by_id
    assert await settled(infra, bus) == (0, 0)


async def test_a_handler_that_always_fails_is_dead_lettered_after_max_attempts(
    infra: Infra,
    bus: EventBus,
    database: Database,
    publisher: Publisher,
    dead_letters: DeadLetters,
    eventually: Eventually,
) -> None:
    envelope = await publisher.event(Doomed(label="never"))
    message_id = str(envelope.event_id)

    await eventually(dead_letters.collect, lambda found: message_id in found, what="the dead-lettered event")
    await asyncio.sleep(RETRY_DELAY_S + 0.5)  # no fourth try comes back

    reason = dead_letters.reason(message_id)
    assert reason.startswith(f"gave up after {MAX_ATTEMPTS} tries")
    assert "RuntimeError: always broken" in reason
    headers = dead_letters.by_id[message_id].headers or {}
    assert headers["x-original-routing-key"] == Doomed.routing_key
    assert decode(dead_letters.by_id[message_id].body) == envelope
    assert len(calls[envelope.event_id]) == MAX_ATTEMPTS
    assert await rows(database, envelope.event_id) == []  # every try rolled back
    assert await settled(infra, bus) == (0, 0)


async def test_the_handler_runs_in_the_events_flow_and_what_it_emits_is_caused_by_it(
    database: Database, publisher: Publisher, eventually: Eventually
) -> None:
    # Only the envelope carries the correlation id: the AMQP property is left empty.
    envelope = await publisher.event(
        Traced(label="follow me"), correlation_id="flow-traced", amqp_correlation=False
    )

    found = await eventually(lambda: rows(database, envelope.event_id), what="the handled row")
    assert found[0].correlation_id == "flow-traced"
    assert seen_context[envelope.event_id] == ("flow-traced", envelope.event_id)

    async with database.transaction() as session:
        emitted = (
            await session.execute(select(outbox).where(outbox.c.routing_key == Echoed.routing_key))
        ).all()
    assert len(emitted) == 1
    echoed = decode(emitted[0].body)
    assert echoed.causation_id == envelope.event_id
    assert echoed.correlation_id == "flow-traced"
    assert emitted[0].correlation_id == "flow-traced"
    assert echoed.payload(Echoed) == Echoed(label="follow me")


def batches() -> tuple[float, float]:
    """(batches, messages in them) the consumer has handled so far."""
    labels = {"service": SERVICE}
    return (
        METRICS.get_sample_value("crm_consume_batch_size_count", labels) or 0.0,
        METRICS.get_sample_value("crm_consume_batch_size_sum", labels) or 0.0,
    )


async def test_a_burst_is_committed_in_batches_and_one_failing_event_holds_back_none_of_the_others(
    infra: Infra,
    bus: EventBus,
    database: Database,
    publisher: Publisher,
    dead_letters: DeadLetters,
    eventually: Eventually,
) -> None:
    batches_before, messages_before = batches()
    good = [Envelope.wrap(Pinged(label=f"burst {i}"), correlation_id=f"burst-{i}") for i in range(60)]
    bad = Envelope.wrap(Doomed(label="in the burst"), correlation_id="burst-bad")
    burst = [*good[:30], bad, *good[30:]]

    await asyncio.gather(*(publisher.envelope(envelope) for envelope in burst))

    found = await eventually(
        lambda: rows_of(database, good), lambda r: len(r) >= len(good), what="every good event's row"
    )
    await eventually(dead_letters.collect, lambda d: str(bad.event_id) in d, what="the failing event")

    # Each good event once, with its own flow; the failing one rolled back every time.
    assert sorted(row.event_id for row in found) == sorted(envelope.event_id for envelope in good)
    assert {row.label: row.correlation_id for row in found} == {
        f"burst {i}": f"burst-{i}" for i in range(len(good))
    }
    assert await rows(database, bad.event_id) == []
    assert dead_letters.reason(str(bad.event_id)).startswith(f"gave up after {MAX_ATTEMPTS} tries")
    # Fewer transactions than messages: the burst was handled in batches.
    batches_after, messages_after = batches()
    assert messages_after - messages_before >= len(burst)
    assert batches_after - batches_before < messages_after - messages_before
    assert await settled(infra, bus) == (0, 0)


async def test_a_burst_is_acked_a_batch_at_a_time(
    infra: Infra,
    bus: EventBus,
    database: Database,
    publisher: Publisher,
    eventually: Eventually,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[Settle] = []
    frames_of = Ledger.frames

    def recorded(ledger: Ledger) -> list[Settle]:
        frames = frames_of(ledger)
        sent.extend(frames)
        return frames

    monkeypatch.setattr(Ledger, "frames", recorded)
    burst = [Envelope.wrap(Pinged(label=f"acked {i}"), correlation_id="acks") for i in range(50)]

    await asyncio.gather(*(publisher.envelope(envelope) for envelope in burst))

    await eventually(lambda: rows_of(database, burst), lambda r: len(r) >= len(burst), what="the burst")
    await eventually(lambda: settled(infra, bus), lambda s: s == (0, 0), what="every message acked")
    assert any(frame.multiple for frame in sent)
    assert len(sent) < len(burst)


async def test_a_message_whose_retry_cannot_be_published_goes_back_to_the_queue(
    infra: Infra,
    bus: EventBus,
    database: Database,
    publisher: Publisher,
    eventually: Eventually,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its first try fails and the retry queue refuses the copy: RabbitMQ gets it back
    (nack) and redelivers it; the messages around it are acked meanwhile."""
    republish = bus.redelivery._republish
    refused: list[str] = []

    async def refuse_once(raw: Any, headers: dict[str, Any], **target: Any) -> None:
        if raw.message_id == str(wobbly.event_id) and not refused:
            refused.append(raw.message_id)
            raise PublishFailed("the retry queue is full")
        await republish(raw, headers, **target)

    monkeypatch.setattr(bus.redelivery, "_republish", refuse_once)
    wobbly = Envelope.wrap(Wobbled(label="given back"), correlation_id="given-back")
    around = [Envelope.wrap(Pinged(label=f"around {i}"), correlation_id="around") for i in range(20)]

    await asyncio.gather(*(publisher.envelope(e) for e in [*around[:10], wobbly, *around[10:]]))

    await eventually(lambda: rows_of(database, around), lambda r: len(r) >= len(around), what="the others")
    found = await eventually(lambda: rows(database, wobbly.event_id), what="the given-back event, at last")
    assert refused == [str(wobbly.event_id)]
    assert len(found) == 1
    # Tried on its first delivery, again on RabbitMQ's redelivery, then once more from the retry queue.
    assert len(calls[wobbly.event_id]) == 3
    await eventually(lambda: settled(infra, bus), lambda s: s == (0, 0), what="every message settled")


async def test_when_the_database_fails_a_batch_waits_together_instead_of_each_event_trying_alone(
    infra: Infra, bus: EventBus, database: Database, publisher: Publisher, eventually: Eventually
) -> None:
    global database_down
    burst = [Envelope.wrap(Stranded(label=f"stranded {i}"), correlation_id="outage") for i in range(40)]
    database_down = True
    tries_while_down.clear()
    try:
        await asyncio.gather(*(publisher.envelope(envelope) for envelope in burst))
        await eventually(lambda: settled(infra, bus), lambda s: s[1] >= 1, what="events waiting to retry")
        await asyncio.sleep(0.3)
    finally:
        database_down = False

    found = await eventually(
        lambda: rows_of(database, burst), lambda r: len(r) >= len(burst), what="every event afterwards"
    )
    assert len(found) == len(burst)
    # One failed try per batch, not one per event on top of it: fewer tries than events.
    assert 1 <= len(tries_while_down) < len(burst)
    assert await settled(infra, bus) == (0, 0)


async def test_nothing_from_one_message_leaks_into_the_next(
    database: Database, publisher: Publisher, eventually: Eventually
) -> None:
    first = await publisher.event(Traced(label="a"), correlation_id="flow-a")
    second = await publisher.event(Pinged(label="b"), correlation_id="flow-b")
    await eventually(lambda: rows(database, first.event_id), what="the first row")
    found = await eventually(lambda: rows(database, second.event_id), what="the second row")
    assert found[0].correlation_id == "flow-b"
    async with database.transaction() as session:
        causes = (
            await session.execute(
                select(func.count()).select_from(outbox).where(outbox.c.routing_key == Echoed.routing_key)
            )
        ).scalar_one()
    assert causes == 2  # one per Traced event so far, none from the Pinged


async def test_ready_while_consuming_and_not_after_stop(
    infra: Infra, database: Database, namespace: str, eventually: Eventually
) -> None:
    bus = EventBus(settings_for(infra, database, namespace, "testsvcidle"), database, idle)
    await bus.start()
    try:
        assert await eventually(bus.ready, what="ready after start") is True
    finally:
        await bus.stop()
    assert await bus.ready() is False


async def test_the_queue_is_quorum_and_dead_letters_past_its_delivery_limit(
    infra: Infra,
    database: Database,
    namespace: str,
    publisher: Publisher,
    eventually: Eventually,
) -> None:
    """What the broker itself guarantees when a consumer keeps returning a message."""
    settings = settings_for(infra, database, namespace, "testsvcidle")
    bus = EventBus(settings, database, idle)
    await bus.start()  # declares the topology...
    await bus.stop()  # ...and leaves no consumer, so the test plays it
    envelope = await publisher.event(Echoed(label="hot potato"))
    connection = await aio_pika.connect(infra.amqp_url)
    try:
        channel = await connection.channel()
        # Declaring it as a classic queue is refused: it is a quorum queue.
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
            await channel.declare_queue(bus.topology.queue, durable=True)
        channel = await connection.channel()
        queue = await channel.declare_queue(bus.topology.queue, passive=True)
        deliveries = 0
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            assert message.message_id == str(envelope.event_id)
            deliveries += 1
            await message.nack(requeue=True)
            assert deliveries <= 10 * settings.delivery_limit, "never dead-lettered"
        dlq = await channel.declare_queue(bus.topology.dead_letter_queue, passive=True)
        dead = await eventually(
            lambda: dlq.get(no_ack=True, fail=False, timeout=5), what="the message in the DLQ"
        )
    finally:
        await connection.close()
    assert settings.delivery_limit <= deliveries <= settings.delivery_limit + 1
    assert dead.message_id == str(envelope.event_id)
    assert (dead.headers or {}).get("x-first-death-reason") == "delivery_limit"
    assert (dead.headers or {}).get("x-first-death-queue") == bus.topology.queue
