"""RabbitMQ with safe defaults: one `EventBus` per service process, made of parts with one job each.

- `topology`     the names of the exchanges and queues, declared with their type only
- `policies`     dead-lettering, the retry TTL and the delivery limit, as RabbitMQ policies
- `publishing`   confirmed, routed, persistent publishes (the outbox relay's `publish`)
- `consuming`    the service's queue: decode, run the handler with the inbox, ack in batches
- `redelivery`   a message that failed: a delayed retry, or the dead-letter queue
- `handlers`     what a service registers: one handler per contract, `Transient`
- readiness      `EventBus.ready`: connected, consuming, and RabbitMQ counts the consumer
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from .consuming import Consumer
from .db import Database
from .handlers import Handlers
from .publishing import ConfirmedPublisher
from .redelivery import Redelivery
from .settings import ServiceSettings
from .topology import Declarations

log = logging.getLogger(__name__)


async def _undecoded(message: RabbitMessage) -> RabbitMessage:
    """The message itself, for `Consumer.on_message` (which decodes the body itself)."""
    return message


class EventBus:
    """One per service process: publishes the outbox and consumes the service's queue."""

    def __init__(self, settings: ServiceSettings, db: Database, handlers: Handlers | None = None) -> None:
        self.settings = settings
        self.declarations = Declarations(settings)
        self.topology = self.declarations.names
        self.handlers = (handlers or Handlers()).by_key
        self.broker = RabbitBroker(
            settings.amqp_url,
            default_channel=Channel(
                prefetch_count=settings.prefetch,
                publisher_confirms=True,
                on_return_raises=False,
            ),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # The one handler takes the message itself (see `_undecoded`): no dependency
            # injection, which would resolve the message in a worker thread every time.
            apply_types=False,
            graceful_timeout=20.0,
            reconnect_interval=1.0,
            log_level=logging.DEBUG,
        )
        self.publisher = ConfirmedPublisher(self.broker, settings.publish_timeout_s)
        self.redelivery = Redelivery(self.publisher, self.declarations, settings.retry_delay_s)
        self.consumer = Consumer(
            db,
            self.handlers,
            self.redelivery,
            batch_size=settings.consume_batch_size,
            max_attempts=settings.max_attempts,
            transient_max_wait_s=settings.transient_max_wait_s,
        )
        #: A channel of its own for readiness probes, so a probe never disturbs consuming.
        self._probe_channel = Channel(publisher_confirms=False)
        self.subscriber = self.broker.subscriber(self.declarations.queue, title=self.topology.queue)
        # `Consumer.on_message` decodes the body itself. FastStream's default decoder parses
        # JSON before any of our code runs, so a malformed body raised there, was
        # requeued in a hot loop and dead-lettered by the delivery limit with no reason.
        self.subscriber(self.consumer.on_message, decoder=_undecoded)

    async def start(self) -> None:
        await self.declarations.adopt_older_queues()
        await self.broker.connect()
        await self.declare()
        await self.broker.start()

    async def stop(self) -> None:
        # Stop taking messages, let those in hand finish, and send their acks while
        # the channel is still open.
        await self.subscriber.stop()
        await self.consumer.acks.drained()
        await self.broker.stop()

    async def declare(self) -> None:
        """Declare this service's part of the topology; idempotent, restored on reconnect."""
        await self.declarations.declare(self.broker, self.handlers)

    async def publish(self, routing_key: str, body: bytes, properties: dict[str, Any]) -> None:
        """Publish an event; raise `PublishFailed` unless confirmed *and* routed."""
        await self.publisher.publish_event(self.topology.exchange, routing_key, body, **properties)

    async def ready(self) -> bool:
        """Connected, consuming, and RabbitMQ itself counts a consumer on the queue.

        The broker's count matters after a reconnect: the connection comes back a
        moment before the consumers are restored on it.
        """
        if not await self.broker.ping(timeout=1.0):
            return False
        if getattr(self.subscriber, "_consumer_tag", None) is None:
            return False
        try:
            channel = await self.broker.config.channel_manager.get_channel(self._probe_channel)
            underlay = await channel.get_underlay_channel()
            declared = await asyncio.wait_for(
                underlay.queue_declare(self.topology.queue, passive=True), timeout=2.0
            )
        except Exception:
            return False
        return bool(declared.consumer_count)
