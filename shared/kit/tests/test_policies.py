"""Settings that can change: a service restarted with another RETRY_DELAY_S and
DELIVERY_LIMIT starts, is ready and uses them (they are RabbitMQ policies, not queue
arguments fixed at the first declaration), against a real RabbitMQ and Postgres."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, Event
from crm_kit.bus import EventBus
from crm_kit.db import Database
from crm_kit.handlers import Handlers
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra, bus_policies

pytestmark = pytest.mark.integration

SERVICE = "policysvc"
OLDER = "policyold"
SERVICES = [SERVICE, OLDER]
Eventually = Callable[..., Awaitable[Any]]


class Flaked(Event, routing_key="policysvc.thing.flaked.v1"):
    label: str


handlers = Handlers()
tries: dict[uuid.UUID, list[float]] = defaultdict(list)


@handlers.handles(Flaked)
async def on_flaked(session: AsyncSession, event: Flaked, envelope: Envelope) -> None:
    tries[envelope.event_id].append(time.monotonic())
    raise RuntimeError("this one always fails")


def settings_for(
    infra: Infra,
    database: Database,
    namespace: str,
    *,
    retry_delay_s: float,
    delivery_limit: int,
    service: str = SERVICE,
) -> ServiceSettings:
    return ServiceSettings(
        service_name=service,
        amqp_url=infra.amqp_url,
        database_url=database.url,
        bus_namespace=namespace,
        retry_delay_s=retry_delay_s,
        delivery_limit=delivery_limit,
        max_attempts=2,  # tried, retried once after the delay, then dead-lettered
        publish_timeout_s=5.0,
    )


@pytest.fixture
async def channel(infra: Infra) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(infra.amqp_url)
    try:
        yield await connection.channel(publisher_confirms=True)
    finally:
        await connection.close()


async def publish(channel: AbstractChannel, namespace: str, label: str) -> Envelope:
    envelope = Envelope.wrap(Flaked(label=label), correlation_id=f"policy-{label}")
    exchange = await channel.get_exchange(f"{namespace}.events")
    await exchange.publish(
        aio_pika.Message(
            envelope.model_dump_json().encode(),
            message_id=str(envelope.event_id),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=Flaked.routing_key,
        mandatory=True,
    )
    return envelope


async def dead_letters(channel: AbstractChannel, bus: EventBus) -> list[AbstractIncomingMessage]:
    dlq = await channel.declare_queue(bus.topology.dead_letter_queue, passive=True)
    found = []
    while (message := await dlq.get(no_ack=True, fail=False, timeout=5)) is not None:
        found.append(message)
    return found


async def test_a_service_restarted_with_another_retry_delay_and_delivery_limit_is_ready_and_uses_them(
    infra: Infra, database: Database, namespace: str, channel: AbstractChannel, eventually: Eventually
) -> None:
    before = settings_for(infra, database, namespace, retry_delay_s=0.5, delivery_limit=6)
    async with bus_policies(before):
        first = EventBus(before, database, handlers)
        await first.start()
        try:
            assert await eventually(first.ready, what="ready with the first settings")
        finally:
            await first.stop()

    after = settings_for(infra, database, namespace, retry_delay_s=2.0, delivery_limit=2)
    async with bus_policies(after):
        bus = EventBus(after, database, handlers)
        await bus.start()  # the queues exist, declared under the first settings
        try:
            assert await eventually(bus.ready, what="ready with the new settings")
            flaked = await publish(channel, namespace, "retried")
            times = await eventually(
                lambda: _async(tries[flaked.event_id]), lambda t: len(t) >= 2, what="a second try"
            )
            dead = await eventually(lambda: dead_letters(channel, bus), what="dead-lettered after 2 tries")
        finally:
            await bus.stop()
        gap = times[1] - times[0]
        assert 1.9 <= gap <= 4.5, f"retried {gap:.2f}s later, not after the new 2 s"  # 0.5 s before
        assert [m.message_id for m in dead] == [str(flaked.event_id)]

        # No consumer now: the test keeps giving a message back, as a consumer that
        # cannot even republish it would; the broker dead-letters it at the new limit.
        bounced = await publish(channel, namespace, "bounced")
        queue = await channel.declare_queue(bus.topology.queue, passive=True)
        deliveries = 0
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            assert message.message_id == str(bounced.event_id)
            deliveries += 1
            await message.nack(requeue=True)
            assert deliveries <= 10, "never dead-lettered"
        dead = await eventually(lambda: dead_letters(channel, bus), what="dead-lettered by the broker")
    assert 2 <= deliveries <= 3, f"{deliveries} deliveries, not the new limit of 2"  # 6 before
    assert [m.message_id for m in dead] == [str(bounced.event_id)]
    assert (dead[0].headers or {}).get("x-first-death-reason") == "delivery_limit"


async def test_queues_an_older_version_declared_with_arguments_are_taken_as_they_are(
    infra: Infra,
    database: Database,
    namespace: str,
    channel: AbstractChannel,
    eventually: Eventually,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A developer's broker still holds the queues as the kit declared them before policies:
    the service starts with them (declared passively) and says what to do about them."""
    settings = settings_for(infra, database, namespace, retry_delay_s=1.0, delivery_limit=4, service=OLDER)
    queue, retry = f"{namespace}.{OLDER}", f"{namespace}.{OLDER}.retry"
    quorum: dict[str, Any] = {"x-queue-type": "quorum"}
    safely = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    await channel.declare_queue(
        queue,
        durable=True,
        arguments={
            **quorum,
            "x-dead-letter-exchange": f"{namespace}.dlx",
            "x-dead-letter-routing-key": queue,
            **safely,
            "x-delivery-limit": 20,
        },
    )
    await channel.declare_queue(
        retry,
        durable=True,
        arguments={
            **quorum,
            "x-message-ttl": 5000,
            "x-dead-letter-exchange": retry,
            "x-dead-letter-routing-key": "back",
            **safely,
        },
    )
    async with bus_policies(settings):
        bus = EventBus(settings, database, handlers)
        await bus.start()
        try:
            assert await eventually(bus.ready, what="ready on the older queues")
        finally:
            await bus.stop()
    warned = [r.getMessage() for r in caplog.records if "declared with x-arguments" in r.getMessage()]
    assert [w.split()[1] for w in warned] == [queue, retry]


async def _async(value: Any) -> Any:
    return list(value)
