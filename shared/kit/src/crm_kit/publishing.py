"""Publishing that counts only what the broker took: confirmed *and* routed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiormq
from faststream.rabbit import Channel, RabbitBroker

from .settings import ServiceSettings


class PublishFailed(Exception):
    """The broker did not take responsibility for a message (nack, return or timeout)."""


class ConfirmedPublisher:
    """Persistent, `mandatory` publishes on a channel with publisher confirms; a message
    that no queue took comes back as `Basic.Return` (not an exception) and fails here."""

    def __init__(self, broker: RabbitBroker, timeout_s: float) -> None:
        self.broker = broker
        self.timeout_s = timeout_s

    async def publish(self, body: bytes, **kwargs: Any) -> None:
        """Raise `PublishFailed` unless the broker confirmed and routed the message."""
        try:
            result = await self.broker.publish(
                body,
                mandatory=True,
                persist=True,
                content_type="application/json",
                timeout=self.timeout_s,
                **kwargs,
            )
        except Exception as exc:  # connection lost, nack, timeout: all mean "not taken"
            raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(result, aiormq.spec.Basic.Ack):
            where = kwargs.get("routing_key") or kwargs.get("queue")
            raise PublishFailed(f"unroutable or refused: no queue took {where!r} ({type(result).__name__})")


@asynccontextmanager
async def connected(settings: ServiceSettings) -> AsyncIterator[ConfirmedPublisher]:
    """A publisher of its own on the service's broker, for a command run beside the service."""
    broker = RabbitBroker(
        settings.amqp_url, default_channel=Channel(publisher_confirms=True, on_return_raises=False)
    )
    await broker.connect()
    try:
        yield ConfirmedPublisher(broker, settings.publish_timeout_s)
    finally:
        await broker.stop()
