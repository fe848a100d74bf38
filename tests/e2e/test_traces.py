"""One trace from the browser's request through the gateway, the customers service, its
outbox and the broker, into each consumer (sales and accounting), with database spans
on the way, exported by OTLP from every service (`tests/otlp.py` receives them), and
the trace id on the consumers' JSON log lines."""

from __future__ import annotations

import json
import secrets

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from ..otlp import Span, SpanCollector

pytestmark = pytest.mark.e2e

PROMOTED = "customers.customer.promoted_to_traditional.v1"
SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5


def _by_service(spans: list[Span]) -> dict[str, list[Span]]:
    found: dict[str, list[Span]] = {}
    for span in spans:
        found.setdefault(span.service, []).append(span)
    return found


def _consumed_in(spans: list[Span], service: str) -> bool:
    return any(s.service == service and s.kind == CONSUMER and s.name == f"{PROMOTED} process" for s in spans)


def _whole(spans: list[Span]) -> bool:
    """Every span the test reads has arrived."""
    kinds = {(s.service, s.kind) for s in spans}
    return (
        {("gateway", SERVER), ("gateway", CLIENT), ("customers", SERVER)} <= kinds
        and any(s.service == "customers" and s.name == f"{PROMOTED} publish" for s in spans)
        and _consumed_in(spans, "sales")
        and _consumed_in(spans, "accounting")
    )


async def test_one_promotion_is_one_trace_across_customers_sales_and_accounting(
    stack, new_user, spans: SpanCollector
):
    seller = await new_user(Role.SALESPERSON)
    made = await seller.client.post("/api/customers", json={"name": "Công ty Dấu Vết", "region_code": "01"})
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    # The browser starts the trace: the gateway continues the traceparent it sends.
    trace_id, browser_span = secrets.token_hex(16), secrets.token_hex(8)
    promoted = await seller.client.post(
        f"/api/customers/{cid}/promote", headers={"traceparent": f"00-{trace_id}-{browser_span}-01"}
    )
    assert promoted.status_code == 200, promoted.text

    async def the_trace() -> list[Span]:
        return spans.spans(trace_id)

    # Each process exports its spans in batches of its own: the gateway's may arrive after
    # the consumers' (it did in CI, under load), so wait for all four.
    found = await eventually(
        the_trace,
        until=_whole,
        what="the promotion's spans from the gateway, customers, and sales' and accounting's consumers",
    )
    services = _by_service(found)
    assert {"gateway", "customers", "sales", "accounting"} <= set(services), sorted(services)

    # browser -> gateway (server, then client) -> customers (server)
    (gateway_in,) = [s for s in services["gateway"] if s.kind == SERVER]
    assert gateway_in.parent_id == browser_span
    (gateway_out,) = [s for s in services["gateway"] if s.kind == CLIENT]
    assert gateway_out.parent_id == gateway_in.span_id
    (customers_in,) = [s for s in services["customers"] if s.kind == SERVER]
    assert customers_in.parent_id == gateway_out.span_id
    # customers' database spans, and the relay's publish of the event
    assert any(s.attributes.get("db.system.name") == "postgresql" for s in services["customers"])
    (published,) = [
        s for s in services["customers"] if s.kind == PRODUCER and s.name == f"{PROMOTED} publish"
    ]
    # each consumer continues the publish, with database spans of its own
    for service in ("sales", "accounting"):
        (consumed,) = [s for s in services[service] if s.kind == CONSUMER and s.name == f"{PROMOTED} process"]
        assert consumed.parent_id == published.span_id
        assert any(
            s.attributes.get("db.system.name") == "postgresql" and s.parent_id == consumed.span_id
            for s in services[service]
        ), service

    # Accounting logs at DEBUG in this stack: its line for the event carries the trace id.
    assert stack.log_dir is not None
    text = (stack.log_dir / "accounting.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    handled = [
        line
        for line in lines
        if line.get("msg") == f"handled {PROMOTED}" and line.get("trace_id") == trace_id
    ]
    assert handled, "no log line of accounting carries the promotion's trace id"
