"""What becomes of a message that waits, or whose headers lie (issue 16, item 8), against a real
RabbitMQ and Postgres: a prerequisite that never arrives ends in the dead-letter queue with
what it waited for; a waiting message does not roll back every batch it joins; bad
`x-attempt`/`x-waits` values dead-letter with a reason instead of looping; routing keys
are metric labels only when the service handles them; shutdown stops the relay before the bus.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from prometheus_client import REGISTRY as METRICS
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, Event
from crm_kit.assembly import create_service_app
from crm_kit.auth import generate_keypair
from crm_kit.bus import EventBus
from crm_kit.db import Database
from crm_kit.handlers import Delivery, Handlers, Transient
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra, bus_policies

pytestmark = pytest.mark.integration

SERVICE = "waitsvc"
SERVICES = [SERVICE, "waitsvcapp"]
RETRY_DELAY_S = 0.5
MAX_WAIT_S = 2.0
Eventually = Callable[..., Awaitable[Any]]


class Kept(Event, routing_key="waitsvc.thing.kept.v1"):
    label: str


class Stuck(Event, routing_key="waitsvc.thing.stuck.v1"):
    """Its prerequisite never arrives."""

    label: str


calls: dict[uuid.UUID, list[float]] = defaultdict(list)
handlers = Handlers()


@handlers.handles(Kept)
async def on_kept(session: AsyncSession, event: Kept, envelope: Envelope) -> None:
    calls[envelope.event_id].append(time.monotonic())


@handlers.handles(Stuck)
async def on_stuck(session: AsyncSession, event: Stuck, envelope: Envelope) -> None:
    calls[envelope.event_id].append(time.monotonic())
    raise Transient("the promotion it follows was dead-lettered")


def settings_for(infra: Infra, database: Database, namespace: str, service: str = SERVICE) -> ServiceSettings:
    return ServiceSettings(
        service_name=service,
        amqp_url=infra.amqp_url,
        database_url=database.url,
        bus_namespace=namespace,
        jwt_public_key=generate_keypair()[1],
        retry_delay_s=RETRY_DELAY_S,
        max_attempts=3,
        delivery_limit=3,
        transient_max_wait_s=MAX_WAIT_S,
        publish_timeout_s=5.0,
        retention_enabled=False,
    )


@pytest.fixture(scope="module", autouse=True)
async def policies(infra: Infra, database: Database, namespace: str) -> AsyncIterator[None]:
    async with bus_policies(*(settings_for(infra, database, namespace, s) for s in SERVICES)):
        yield


@pytest.fixture(scope="module")
async def bus(infra: Infra, database: Database, namespace: str) -> AsyncIterator[EventBus]:
    bus = EventBus(settings_for(infra, database, namespace), database, handlers)
    await bus.start()
    yield bus
    await bus.stop()


@pytest.fixture(scope="module")
async def channel(infra: Infra, bus: EventBus) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(infra.amqp_url)
    yield await connection.channel(publisher_confirms=True)
    await connection.close()


async def publish(
    channel: AbstractChannel, bus: EventBus, envelope: Envelope, headers: dict[str, Any] | None = None
) -> str:
    exchange = await channel.get_exchange(bus.topology.exchange)
    await exchange.publish(
        aio_pika.Message(
            envelope.model_dump_json().encode(),
            message_id=str(envelope.event_id),
            headers=headers or {},
            content_type="application/json",
        ),
        routing_key=envelope.routing_key,
        mandatory=True,
    )
    return str(envelope.event_id)


async def dead_letter(channel: AbstractChannel, bus: EventBus, message_id: str) -> AbstractIncomingMessage:
    """Wait for `message_id` in the service's dead-letter queue (reading, and dropping, what is before it)."""
    queue = await channel.get_queue(bus.topology.dead_letter_queue)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        message = await queue.get(no_ack=True, fail=False, timeout=5)
        if message is not None and message.message_id == message_id:
            return message
        if message is None:
            await asyncio.sleep(0.2)
    raise AssertionError(f"{message_id} never reached the dead-letter queue")


def dead_lettered(routing_key: str) -> float:
    return (
        METRICS.get_sample_value(
            "crm_messages_dead_lettered_total", {"service": SERVICE, "routing_key": routing_key}
        )
        or 0.0
    )


async def test_a_message_whose_prerequisite_never_comes_is_dead_lettered_with_what_it_waited_for(
    bus: EventBus, channel: AbstractChannel
) -> None:
    envelope = Envelope.wrap(Stuck(label="forever"), correlation_id="stuck")
    message_id = await publish(channel, bus, envelope)

    message = await dead_letter(channel, bus, message_id)

    reason = str((message.headers or {})["x-dead-letter-reason"])
    assert reason.startswith("waited"), reason
    assert "TRANSIENT_MAX_WAIT_S" in reason
    assert "the promotion it follows was dead-lettered" in reason
    tries = calls[envelope.event_id]
    assert tries[-1] - tries[0] >= MAX_WAIT_S - RETRY_DELAY_S  # it did wait, about that long
    assert len(tries) <= MAX_WAIT_S / RETRY_DELAY_S + 2


@pytest.mark.parametrize(
    ("headers", "named"),
    [({"x-attempt": "two"}, "x-attempt"), ({"x-waits": "lots"}, "x-waits"), ({"x-attempt": -1}, "x-attempt")],
)
async def test_a_bad_count_in_the_headers_is_dead_lettered_with_a_reason(
    bus: EventBus, channel: AbstractChannel, headers: dict[str, Any], named: str
) -> None:
    envelope = Envelope.wrap(Stuck(label="lying headers"), correlation_id="liar")
    message_id = await publish(channel, bus, envelope, headers)

    message = await dead_letter(channel, bus, message_id)

    reason = str((message.headers or {})["x-dead-letter-reason"])
    assert named in reason
    assert calls[envelope.event_id] == []  # not handled, not retried


async def test_a_routing_key_the_service_does_not_handle_is_no_metric_label(
    bus: EventBus, channel: AbstractChannel
) -> None:
    invented = f"invented.{uuid.uuid4().hex}"
    before = dead_lettered("unknown")
    envelope = Envelope.wrap(Kept(label="x"), correlation_id="labels")
    message_id = await publish(channel, bus, envelope, {"x-original-routing-key": invented, "x-attempt": "?"})

    await dead_letter(channel, bus, message_id)

    assert (
        METRICS.get_sample_value(
            "crm_messages_dead_lettered_total", {"service": SERVICE, "routing_key": invented}
        )
        is None
    )
    assert dead_lettered("unknown") == before + 1


async def test_a_message_that_waited_before_is_handled_apart_from_the_batch(bus: EventBus) -> None:
    """A batch it joins is not rolled back and redone one by one on its account: the
    others' handler runs once each."""
    waiting = Envelope.wrap(Stuck(label="again"), correlation_id="apart")
    others = [Envelope.wrap(Kept(label=f"k{i}"), correlation_id="apart") for i in range(5)]
    handler_of = bus.consumer.handlers

    def delivery(envelope: Envelope, headers: dict[str, Any]) -> Delivery:
        handler = handler_of[envelope.routing_key]
        return Delivery(envelope, envelope.payload(handler.contract), handler, headers)

    batch = [
        delivery(others[0], {}),
        delivery(others[1], {}),
        delivery(waiting, {"x-waiting-since": time.time() - 1, "x-waits": 1}),
        *(delivery(envelope, {}) for envelope in others[2:]),
    ]

    outcomes = await bus.consumer._handle(batch)

    assert isinstance(outcomes[2], Transient)
    assert [outcome for i, outcome in enumerate(outcomes) if i != 2] == [True] * len(others)
    assert [len(calls[envelope.event_id]) for envelope in others] == [1] * len(others)


async def test_shutdown_stops_the_relay_before_the_bus(
    infra: Infra, database: Database, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay publishes through the bus: stopped after it, its last pass fails."""
    app = create_service_app(settings_for(infra, database, namespace, "waitsvcapp"), title="waiting")
    runtime = app.state.runtime
    stopped: list[str] = []
    for name, part in (("bus", runtime.bus), ("relay", runtime.relay)):
        original = part.stop

        async def stop(original: Callable[[], Awaitable[None]] = original, name: str = name) -> None:
            stopped.append(name)
            await original()

        monkeypatch.setattr(part, "stop", stop)

    async with app.router.lifespan_context(app):
        pass

    assert stopped == ["relay", "bus"]
