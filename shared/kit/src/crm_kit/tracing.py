"""OpenTelemetry traces that follow one flow across services.

Exported by OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the SDK reads the
standard `OTEL_*` variables), silent and nearly free when not: no provider is
installed, so every span is a no-op and nothing is added to requests.

One flow is one trace: the gateway's server span, its client span to the service
(`outgoing` puts `traceparent` on the request), the service's server span and its
database spans (`instrument_engine`), the relay's producer span (`publishing`), and
each consumer's span (`consuming`) with its own database spans and what it emits.

The trace context crosses the bus inside the event's AMQP headers. `emit` stores
the current context with the outbox row, because the relay publishes later, from
another task, when the request's span is long over; the relay's producer span
continues it and the consumer continues the producer's.

Database spans are made only inside a trace (a request's, a message's): the relay's
polls, the retention's passes and health checks make none, so a trace viewer shows
flows, not background noise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

_enabled = False
tracer = trace.get_tracer("crm_kit")
#: What a server span is not made for: health checks and scrapes, several a second.
UNTRACED_PATHS = "/healthz$,/readyz$,/metrics$"
#: A database span keeps this much of its statement (parameters are never in it).
STATEMENT_CHARS = 2000


def enabled() -> bool:
    return _enabled


def configure(service: str) -> bool:
    """Install an OTLP-exporting provider if an endpoint is configured; True if it did."""
    global _enabled
    if _enabled or not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return _enabled
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _enabled = True
    return True


def enable_for_tests(on: bool = True) -> None:
    """Tests install their own provider (an in-memory exporter) and switch propagation on (and off)."""
    global _enabled
    _enabled = on


def current_headers() -> dict[str, str]:
    """The current trace context as message headers (`traceparent`, `tracestate`)."""
    if not _enabled:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def trace_ids() -> tuple[str, str] | None:
    """The current trace id and span id in hex (as W3C `traceparent` writes them), if any."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def _carrier(headers: Mapping[str, Any]) -> dict[str, str]:
    return {
        k: v.decode() if isinstance(v, bytes) else v for k, v in headers.items() if isinstance(v, str | bytes)
    }


@contextmanager
def outgoing(method: str, url: str, headers: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """A client span for an HTTP request to another service; yields `headers` with the
    span's `traceparent`, so the service's server span is its child."""
    if not _enabled:
        yield dict(headers)
        return
    with tracer.start_as_current_span(
        method,
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method, "url.full": url.split("?", 1)[0]},
    ):
        carried = dict(headers)
        propagate.inject(carried)
        yield carried


def answered(status: int) -> None:
    """Record an HTTP answer's status on the current (client) span."""
    if _enabled:
        span = trace.get_current_span()
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))


@contextmanager
def publishing(routing_key: str, headers: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The relay's producer span, continuing the trace of the request that emitted the
    event (`headers`: the outbox row's); yields the message's headers, which carry it."""
    if not _enabled:
        yield dict(headers)
        return
    with tracer.start_as_current_span(
        f"{routing_key} publish",
        context=propagate.extract(_carrier(headers)),
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "rabbitmq", "messaging.destination.name": routing_key},
    ):
        carried = dict(headers)
        propagate.inject(carried)
        yield carried


def instrument_engine(engine: AsyncEngine | Engine) -> None:
    """A client span for each statement run inside a trace (see the module's docstring)."""
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    database = sync.url.database or ""

    @event.listens_for(sync, "before_cursor_execute")
    def started(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if context is None or not trace.get_current_span().get_span_context().is_valid:
            return
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        context._crm_span = tracer.start_span(
            f"{operation} {database}",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": "postgresql",
                "db.namespace": database,
                "db.operation.name": operation,
                "db.query.text": statement[:STATEMENT_CHARS],
            },
        )

    @event.listens_for(sync, "after_cursor_execute")
    def finished(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if (span := getattr(context, "_crm_span", None)) is not None:
            context._crm_span = None
            span.end()

    @event.listens_for(sync, "handle_error")
    def failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        if (span := getattr(context, "_crm_span", None)) is not None:
            context._crm_span = None
            span.record_exception(exception_context.original_exception)
            span.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            span.end()


@contextmanager
def continued(headers: Mapping[str, Any]) -> Iterator[None]:
    """The trace a message's headers carry, current while the consumer works on it, so
    its log lines (handled, retried, dead-lettered) carry the flow's trace id."""
    if not _enabled:
        yield
        return
    token = otel_context.attach(propagate.extract(_carrier(headers)))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def consuming(routing_key: str, headers: Mapping[str, Any]) -> Iterator[None]:
    """A consumer span that continues the trace the message's headers carry."""
    if not _enabled:
        yield
        return
    with tracer.start_as_current_span(
        f"{routing_key} process",
        context=propagate.extract(_carrier(headers)),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "rabbitmq", "messaging.destination.name": routing_key},
    ):
        yield


@contextmanager
def consuming_many(routing_key: str, headers: Sequence[Mapping[str, Any]]) -> Iterator[None]:
    """One consumer span for events handled together: a child of the first event's trace
    (under a light load the only one), linked to the trace of each."""
    if not _enabled:
        yield
        return
    contexts = [propagate.extract(_carrier(carried)) for carried in headers]
    links = [
        trace.Link(span_context)
        for context in contexts
        if (span_context := trace.get_current_span(context).get_span_context()).is_valid
    ]
    with tracer.start_as_current_span(
        f"{routing_key} process",
        context=contexts[0] if contexts else None,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.destination.name": routing_key,
            "messaging.batch.message_count": len(headers),
        },
    ):
        yield
