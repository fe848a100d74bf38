"""Event replay (`crm_kit.replay`) against a real RabbitMQ and Postgres: what is replayed
(sent rows of the keys, since the time, in id order, with their envelopes), to whom (the
one queue bound to the replay exchange with its name, no other subscriber) and how fast
(at most `rate_per_s`)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from sqlalchemy import func, text

from crm_contracts import Envelope, Event, decode
from crm_kit.bus import EventBus
from crm_kit.db import Database
from crm_kit.outbox import outbox
from crm_kit.replay import Replayer, ReplayRefused, ReplayRequest
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra

pytestmark = pytest.mark.integration

SERVICE = "rpsvc"
SERVICES = [SERVICE]


class Done(Event, routing_key="rpsvc.thing.done.v1"):
    n: int


class Other(Event, routing_key="rpsvc.thing.other.v1"):
    n: int


@pytest.fixture(scope="module")
async def bus(infra: Infra, database: Database, namespace: str) -> AsyncIterator[EventBus]:
    settings = ServiceSettings(
        service_name=SERVICE, amqp_url=infra.amqp_url, database_url=database.url, bus_namespace=namespace
    )
    bus = EventBus(settings, database)
    await bus.start()
    yield bus
    await bus.stop()


@pytest.fixture
def replayer(bus: EventBus, database: Database, infra: Infra) -> Replayer:
    return Replayer(database, bus.publisher, bus.declarations, infra.amqp_url)


@pytest.fixture
async def channel(infra: Infra) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        yield await connection.channel()


async def a_queue(
    channel: aio_pika.abc.AbstractChannel, exchange: str, key: str | None = None
) -> aio_pika.abc.AbstractQueue:
    """A queue bound to `exchange` with `key` (by default its own name, as a replay needs)."""
    queue = await channel.declare_queue(f"rp-{uuid.uuid4().hex[:8]}", auto_delete=True)
    await queue.bind(await channel.get_exchange(exchange), routing_key=key or queue.name)
    return queue


async def history(database: Database, rows: list[tuple[Event, timedelta, bool]]) -> list[Envelope]:
    """Outbox rows written `age` ago, sent or not, as the relay leaves them."""
    envelopes = []
    async with database.transaction() as session:
        await session.execute(text("TRUNCATE outbox"))
        for event, age, sent in rows:
            envelope = Envelope.wrap(event, correlation_id="replayed")
            await session.execute(
                outbox.insert().values(
                    event_id=envelope.event_id,
                    routing_key=event.routing_key,
                    correlation_id=envelope.correlation_id,
                    body=envelope.model_dump_json().encode(),
                    created_at=func.now() - age,
                    published_at=func.now() if sent else None,
                )
            )
            envelopes.append(envelope)
    return envelopes


async def drain(queue: aio_pika.abc.AbstractQueue) -> list[aio_pika.abc.AbstractIncomingMessage]:
    taken = []
    while (message := await queue.get(no_ack=True, fail=False, timeout=5)) is not None:
        taken.append(message)
    return taken


async def test_a_replay_sends_the_sent_history_since_the_time_in_order_to_that_queue_alone_at_the_rate(
    bus: EventBus, replayer: Replayer, database: Database, channel: aio_pika.abc.AbstractChannel
) -> None:
    hour = timedelta(hours=1)
    rows = [
        (Done(n=0), 3 * hour, True),  # before `since`
        *((Done(n=i), hour - timedelta(minutes=i), True) for i in range(1, 11)),
        (Other(n=11), hour, True),  # another key
        (Done(n=12), timedelta(minutes=1), False),  # not sent yet: the relay will send it
    ]
    envelopes = await history(database, rows)
    names = bus.declarations.names
    mine = await a_queue(channel, names.replay_exchange)
    live = await a_queue(channel, names.exchange, "#")  # a subscriber of every event
    neighbour = await a_queue(channel, names.replay_exchange, "someone-else")
    request = ReplayRequest(
        routing_keys=[Done.routing_key],
        since=datetime.now(UTC) - 2 * hour,
        queue=mine.name,
        rate_per_s=20,
    )

    began = time.monotonic()
    count = await replayer.run(request)
    took = time.monotonic() - began

    assert count == 10
    assert took >= 9 / 20 - 0.05  # 10 events at 20 a second: the first at once, the last 0.45 s later
    received = await drain(mine)
    assert [decode(m.body) for m in received] == envelopes[1:11]  # the envelopes as written, in order
    assert [m.message_id for m in received] == [str(e.event_id) for e in envelopes[1:11]]
    assert all((m.headers or {}).get("x-replayed") for m in received)
    assert await drain(live) == []
    assert await drain(neighbour) == []


async def test_a_replay_is_refused_for_a_foreign_key_a_missing_queue_and_an_unbound_one(
    replayer: Replayer, database: Database, channel: aio_pika.abc.AbstractChannel
) -> None:
    await history(database, [(Done(n=1), timedelta(minutes=5), True)])
    since = datetime.now(UTC) - timedelta(hours=1)

    def request(queue: str, keys: list[str] | None = None) -> ReplayRequest:
        return ReplayRequest(routing_keys=keys or [Done.routing_key], since=since, queue=queue)

    with pytest.raises(ReplayRefused) as foreign:
        await replayer.start(request("anything", ["sales.order.placed.v1"]))
    assert foreign.value.status == 422
    with pytest.raises(ReplayRefused) as missing:
        await replayer.start(request(f"nobody-{uuid.uuid4().hex}"))
    assert missing.value.status == 404
    unbound = await channel.declare_queue(f"rp-{uuid.uuid4().hex[:8]}", auto_delete=True)
    with pytest.raises(ReplayRefused) as not_bound:
        await replayer.start(request(unbound.name))
    assert not_bound.value.status == 422
    assert "not bound" in not_bound.value.detail
    with pytest.raises(ValueError):
        ReplayRequest(routing_keys=[Done.routing_key], since=since, queue="amq.gen-x")
    with pytest.raises(ValueError):
        ReplayRequest(routing_keys=[Done.routing_key], since=datetime(2026, 1, 1), queue="q")  # no zone
