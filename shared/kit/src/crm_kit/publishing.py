"""Publishing that counts only what the broker took: confirmed *and* routed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiormq
from faststream.rabbit import Channel, RabbitBroker

from .settings import ServiceSettings


class PublishFailed(Exception):
    """The broker did not take responsibility for a message (nack, return or timeout)."""


def _taken(result: object, where: object) -> None:
    """Raise `PublishFailed` unless the broker's answer is an ack: a `Basic.Return` (no queue
    took the message) or anything else is not."""
    if not isinstance(result, aiormq.spec.Basic.Ack):
        raise PublishFailed(f"unroutable or refused: no queue took {where!r} ({type(result).__name__})")


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
        _taken(result, kwargs.get("routing_key") or kwargs.get("queue"))

    async def publish_event(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        correlation_id: str,
        headers: dict[str, Any],
    ) -> None:
        """`publish` of an event onto `exchange`, for the outbox relay: the same message and
        the same guarantees (persistent, `mandatory`, confirmed), sent on the broker's
        confirming channel through aiormq itself. FastStream's publish builds a command, runs
        its middleware and an aio-pika `Message` for every message first: a third of the
        CPU of each publish (issue 18), and the relay publishes every event the service
        emits. Raises `PublishFailed` as `publish` does."""
        try:
            channel = await self.broker.config.channel_manager.get_channel()
            if channel.is_closed:
                raise aiormq.exceptions.ChannelInvalidStateError(f"{channel!r} closed")
            underlay = await channel.get_underlay_channel()
            result = await underlay.basic_publish(
                body,
                exchange=exchange,
                routing_key=routing_key,
                properties=aiormq.spec.Basic.Properties(
                    content_type="application/json",
                    delivery_mode=2,  # persistent
                    message_id=message_id,
                    correlation_id=correlation_id,
                    headers=headers,
                    message_type=routing_key,
                    timestamp=datetime.now(UTC),
                ),
                mandatory=True,
                timeout=self.timeout_s,
            )
        except Exception as exc:  # connection lost, nack, timeout: all mean "not taken"
            raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        _taken(result, routing_key)


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
