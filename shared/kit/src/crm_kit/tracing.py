"""OpenTelemetry traces that follow one flow across services.

Exported by OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the SDK reads the
standard `OTEL_*` variables), silent and nearly free when not: no provider is
installed, so every span is a no-op and nothing is added to requests.

The trace context crosses the bus inside the event's AMQP headers. `emit` stores
the current context with the outbox row, because the relay publishes later, from
another task, when the request's span is long over; the consumer continues the
trace from those headers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

_enabled = False
tracer = trace.get_tracer("crm_kit")


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


@contextmanager
def consuming(routing_key: str, headers: Mapping[str, Any]) -> Iterator[None]:
    """A consumer span that continues the trace the message's headers carry."""
    if not _enabled:
        yield
        return
    carrier = {k: str(v) for k, v in headers.items() if isinstance(v, str | bytes)}
    with tracer.start_as_current_span(
        f"{routing_key} process",
        context=propagate.extract(carrier),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "rabbitmq", "messaging.destination.name": routing_key},
    ):
        yield


@contextmanager
def consuming_many(routing_key: str, headers: Sequence[Mapping[str, Any]]) -> Iterator[None]:
    """One consumer span for events handled together, linked to the trace of each."""
    if not _enabled:
        yield
        return
    links = []
    for carried in headers:
        carrier = {k: str(v) for k, v in carried.items() if isinstance(v, str | bytes)}
        span_context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if span_context.is_valid:
            links.append(trace.Link(span_context))
    with tracer.start_as_current_span(
        f"{routing_key} process",
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.destination.name": routing_key,
            "messaging.batch.message_count": len(headers),
        },
    ):
        yield
