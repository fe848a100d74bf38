"""One trace follows a flow from a request, through the outbox and the relay, into the
consumer of another service, with a real RabbitMQ and Postgres in between."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, Event
from crm_kit import tracing
from crm_kit.bus import EventBus
from crm_kit.db import Database
from crm_kit.handlers import Handlers
from crm_kit.outbox import OutboxRelay, emit, outbox
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra

pytestmark = pytest.mark.integration

SERVICES = ["tracesvc"]


class Sparked(Event, routing_key="tracesvc.thing.sparked.v1"):
    label: str


#: The trace id each handled event ran under.
handled_in: dict[str, int] = {}
handlers = Handlers()


@handlers.handles(Sparked)
async def on_sparked(session: AsyncSession, event: Sparked, envelope: Envelope) -> None:
    handled_in[event.label] = trace.get_current_span().get_span_context().trace_id


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    tracing.enable_for_tests(False)


@pytest.fixture(scope="module")
async def running(
    infra: Infra, database: Database, namespace: str, spans: InMemorySpanExporter
) -> AsyncIterator[tuple[EventBus, OutboxRelay]]:
    settings = ServiceSettings(
        service_name="tracesvc", amqp_url=infra.amqp_url, database_url=database.url, bus_namespace=namespace
    )
    bus = EventBus(settings, database, handlers)
    await bus.start()
    relay = OutboxRelay(database, bus.publish, service="tracesvc", poll_interval_s=0.2)
    await relay.start()
    yield bus, relay
    await relay.stop()
    await bus.stop()


async def test_without_an_exporter_nothing_is_added_to_the_event(database: Database):
    assert not tracing.enabled()
    async with database.transaction() as session:
        envelope = await emit(session, Sparked(label="silent"))
        headers: Any = await session.scalar(
            select(outbox.c.headers).where(outbox.c.event_id == envelope.event_id)
        )
    assert headers == {}


async def test_the_consumer_continues_the_trace_of_the_request_that_emitted(
    running: tuple[EventBus, OutboxRelay], database: Database, spans: InMemorySpanExporter, eventually
):
    tracing.enable_for_tests()
    label = uuid.uuid4().hex
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /api/things", kind=SpanKind.SERVER) as request:
        async with database.transaction() as session:
            await emit(session, Sparked(label=label))
        request_trace = request.get_span_context().trace_id

    await eventually(lambda: _handled(label), what="the event handled")
    assert handled_in[label] == request_trace
    consumer_spans = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.CONSUMER and s.context.trace_id == request_trace
    ]
    assert [s.name for s in consumer_spans] == ["tracesvc.thing.sparked.v1 process"]
    # request -> the relay's publish (a producer span, later, in another task) -> the consumer
    (producer,) = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.PRODUCER and s.context.trace_id == request_trace
    ]
    assert producer.name == "tracesvc.thing.sparked.v1 publish"
    assert producer.parent is not None and producer.parent.span_id == request.get_span_context().span_id
    assert (
        consumer_spans[0].parent is not None and consumer_spans[0].parent.span_id == producer.context.span_id
    )


async def test_statements_inside_a_trace_are_database_spans_and_others_are_not(
    database: Database, spans: InMemorySpanExporter
):
    tracing.enable_for_tests()
    traced = Database(database.url)  # instrumented: made while tracing is on
    try:
        async with traced.transaction() as session:
            await session.execute(select(1))  # outside any trace: no span
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("GET /api/things", kind=SpanKind.SERVER) as request:
            async with traced.transaction() as session:
                await session.execute(select(outbox.c.id).limit(1))
                with pytest.raises(Exception, match="no_such_table"):
                    await session.execute(text("SELECT * FROM no_such_table"))
    finally:
        await traced.dispose()
    mine = request.get_span_context()
    statements = [s for s in spans.get_finished_spans() if s.attributes and "db.query.text" in s.attributes]
    assert all(s.context.trace_id == mine.trace_id for s in statements)
    selects = [s for s in statements if s.attributes and s.attributes["db.operation.name"] == "SELECT"]
    assert len(selects) == 2, [s.attributes for s in statements]
    done, failed = selects
    assert done.kind == SpanKind.CLIENT and done.parent is not None and done.parent.span_id == mine.span_id
    assert done.attributes is not None and done.attributes["db.system.name"] == "postgresql"
    assert "FROM outbox" in str(done.attributes["db.query.text"])
    assert done.name == f"SELECT {done.attributes['db.namespace']}"
    assert not failed.status.is_ok and failed.events[0].name == "exception"


async def _handled(label: str) -> bool:
    return label in handled_in
