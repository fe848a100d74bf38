"""What the current request or message is part of: carried into events and logs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[uuid.UUID | None] = ContextVar("causation_id", default=None)
event_id: ContextVar[uuid.UUID | None] = ContextVar("event_id", default=None)


def current_correlation_id() -> str:
    """The flow's correlation id, minted here when nothing upstream set one."""
    value = correlation_id.get()
    if value is None:
        value = new_correlation_id()
        correlation_id.set(value)
    return value


def new_correlation_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def handling(correlation: str, event: uuid.UUID) -> Iterator[None]:
    """While handling event `event` of flow `correlation`: what the events it emits and
    the lines it logs carry. Restores the previous values after."""
    correlation_token = correlation_id.set(correlation)
    event_token = event_id.set(event)
    try:
        yield
    finally:
        event_id.reset(event_token)
        correlation_id.reset(correlation_token)
