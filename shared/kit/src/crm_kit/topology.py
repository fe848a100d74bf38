"""The names and shape of a service's part of RabbitMQ, and declaring it.

Names carry the namespace, `crm` unless a test run sets another:

- `crm.events`      durable topic exchange; every event, routing key `<svc>.<entity>.<event>.vN`
- `crm.<service>`   the service's durable quorum queue, bound to the keys it handles,
                    dead-lettering to `crm.dlx` after `delivery_limit` redeliveries
- `crm.<service>.retry`  the service's own direct exchange for delayed retries: key
                    `wait` -> queue `crm.<service>.retry` (message TTL), whose expired
                    messages dead-letter back through it with key `back` -> `crm.<service>`.
                    Only the service's own names are involved, so its RabbitMQ user
                    needs no right on the default exchange (which reaches every queue).
- `crm.dlx` -> `crm.<service>.dlq`  what could not be processed, with the reason
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from .settings import ServiceSettings


@dataclass(frozen=True)
class Topology:
    namespace: str
    service: str

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dlx"

    @property
    def queue(self) -> str:
        return f"{self.namespace}.{self.service}"

    @property
    def retry_queue(self) -> str:
        return f"{self.queue}.retry"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dlq"


class Declarations:
    """The exchanges and queues of one service, with the arguments that make them safe."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.names = names = Topology(settings.bus_namespace, settings.service_name)
        self.exchange = RabbitExchange(names.exchange, type=ExchangeType.TOPIC, durable=True)
        self.dlx = RabbitExchange(names.dead_letter_exchange, type=ExchangeType.DIRECT, durable=True)
        self.queue = RabbitQueue(
            names.queue,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-dead-letter-exchange": names.dead_letter_exchange,
                "x-dead-letter-routing-key": names.queue,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-delivery-limit": settings.delivery_limit,
            },
        )
        self.retry_queue = RabbitQueue(
            names.retry_queue,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-message-ttl": int(settings.retry_delay_s * 1000),
                "x-dead-letter-exchange": names.retry_queue,
                "x-dead-letter-routing-key": "back",
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        self.retry_exchange = RabbitExchange(names.retry_queue, type=ExchangeType.DIRECT, durable=True)
        self.dead_letter_queue = RabbitQueue(
            names.dead_letter_queue, queue_type=QueueType.QUORUM, durable=True
        )

    async def declare(self, broker: RabbitBroker, routing_keys: Iterable[str]) -> None:
        """Declare all of it and bind the queue to `routing_keys`; idempotent."""
        exchange = await broker.declare_exchange(self.exchange)
        dlx = await broker.declare_exchange(self.dlx)
        queue = await broker.declare_queue(self.queue)
        retry_exchange = await broker.declare_exchange(self.retry_exchange)
        retry_queue = await broker.declare_queue(self.retry_queue)
        await retry_queue.bind(retry_exchange, routing_key="wait")
        await queue.bind(retry_exchange, routing_key="back")
        dlq = await broker.declare_queue(self.dead_letter_queue)
        await dlq.bind(dlx, routing_key=self.names.queue)
        for routing_key in routing_keys:
            await queue.bind(exchange, routing_key=routing_key)
