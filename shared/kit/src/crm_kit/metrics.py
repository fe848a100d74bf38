"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Histogram(
    "crm_http_request_seconds",
    "HTTP requests by route template, method and status",
    ["service", "method", "route", "status"],
)
MESSAGES_CONSUMED = Counter(
    "crm_messages_consumed_total", "Events handled with effect", ["service", "routing_key"]
)
MESSAGES_DUPLICATE = Counter(
    "crm_messages_duplicate_total", "Redelivered events skipped by the inbox", ["service", "routing_key"]
)
MESSAGES_RETRIED = Counter(
    "crm_messages_retried_total", "Events sent to the delayed-retry queue", ["service", "routing_key"]
)
MESSAGES_DEAD_LETTERED = Counter(
    "crm_messages_dead_lettered_total", "Events sent to the dead-letter queue", ["service", "routing_key"]
)
OUTBOX_PUBLISHED = Counter("crm_outbox_published_total", "Outbox rows confirmed by the broker", ["service"])
OUTBOX_FAILED = Counter("crm_outbox_failed_total", "Outbox publishes to retry", ["service"])
OUTBOX_PENDING = Gauge("crm_outbox_pending", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "crm_outbox_oldest_pending_seconds", "Age of the oldest unpublished outbox row", ["service"]
)
RETENTION_DELETED = Counter(
    "crm_retention_deleted_rows", "Outbox and inbox rows deleted past their retention", ["service", "table"]
)
TABLE_ROWS = Gauge(
    "crm_table_rows_estimate", "Rows of a kit table as the planner estimates them", ["service", "table"]
)
TABLE_BYTES = Gauge(
    "crm_table_bytes", "A kit table's size on disk with its indexes and TOAST", ["service", "table"]
)
CONSUME_BATCH = Histogram(
    "crm_consume_batch_size",
    "Messages handled in one transaction",
    ["service"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
