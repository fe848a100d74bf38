"""The names and shape of a service's part of RabbitMQ, and declaring it.

Names carry the namespace, `crm` unless a test run sets another:

- `crm.events`      durable topic exchange; every event, routing key `<svc>.<entity>.<event>.vN`
- `crm.<service>`   the service's durable quorum queue, bound to the keys it handles,
                    dead-lettering to `crm.dlx` after `DELIVERY_LIMIT` redeliveries
- `crm.<service>.retry`  the service's own direct exchange for delayed retries: key
                    `wait` -> queue `crm.<service>.retry` (TTL `RETRY_DELAY_S`), whose expired
                    messages dead-letter back through it with key `back` -> `crm.<service>`.
                    Only the service's own names are involved, so its RabbitMQ user
                    needs no right on the default exchange (which reaches every queue).
- `crm.dlx` -> `crm.<service>.dlq`  what could not be processed, with the reason
- `crm.replay`      durable direct exchange for event replays (`crm_kit.replay`): a
                    subscriber binds its queue with the queue's own name as the key, and
                    a replay to that queue reaches it alone

The dead-lettering, the TTL and the delivery limit are RabbitMQ policies, made by
`crm_kit.policies` and set by whoever runs the broker (see there); the queues are
declared with their type only, so none of these is fixed at the first declaration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from .settings import ServiceSettings

log = logging.getLogger(__name__)


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
    def replay_exchange(self) -> str:
        return f"{self.namespace}.replay"

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
    """The exchanges and queues of one service. The queues carry only their type: what
    may change between runs (dead-lettering, the retry TTL, the delivery limit) is in
    RabbitMQ policies (`crm_kit.policies`), since a queue declared again with other
    arguments is refused."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.names = names = Topology(settings.bus_namespace, settings.service_name)
        self.amqp_url = settings.amqp_url
        self.exchange = RabbitExchange(names.exchange, type=ExchangeType.TOPIC, durable=True)
        self.dlx = RabbitExchange(names.dead_letter_exchange, type=ExchangeType.DIRECT, durable=True)
        self.replay_exchange = RabbitExchange(names.replay_exchange, type=ExchangeType.DIRECT, durable=True)
        self.queue = RabbitQueue(names.queue, queue_type=QueueType.QUORUM, durable=True)
        self.retry_queue = RabbitQueue(names.retry_queue, queue_type=QueueType.QUORUM, durable=True)
        self.retry_exchange = RabbitExchange(names.retry_queue, type=ExchangeType.DIRECT, durable=True)
        self.dead_letter_queue = RabbitQueue(
            names.dead_letter_queue, queue_type=QueueType.QUORUM, durable=True
        )

    async def adopt_older_queues(self) -> list[str]:
        """Declare the queues on a connection of its own, and take as they are (passively)
        those an older kit declared with `x-` arguments (refused with PRECONDITION_FAILED
        if declared again without them); return their names.

        Such a queue keeps working, but its arguments outrank its policy (RabbitMQ takes
        the queue's dead-letter target, and the lower TTL and delivery limit) until it
        is deleted and the service declares it again (deploy/README.md, "Upgrading")."""
        older = []
        connection = await aio_pika.connect(self.amqp_url)
        try:
            for queue in (self.queue, self.retry_queue):
                channel = await connection.channel()
                try:
                    await channel.declare_queue(queue.name, durable=True, arguments=queue.arguments)
                except aio_pika.exceptions.ChannelPreconditionFailed as exc:
                    queue.declare = False  # declared passively from now on, even on reconnects
                    older.append(queue.name)
                    log.warning(
                        "queue %s was declared with x-arguments by an older version; they override "
                        "its policy until it is drained and deleted: %s",
                        queue.name,
                        exc,
                    )
                finally:
                    if not channel.is_closed:
                        await channel.close()
        finally:
            await connection.close()
        return older

    async def declare(self, broker: RabbitBroker, routing_keys: Iterable[str]) -> None:
        """Declare all of it and bind the queue to `routing_keys`; idempotent."""
        exchange = await broker.declare_exchange(self.exchange)
        dlx = await broker.declare_exchange(self.dlx)
        await broker.declare_exchange(self.replay_exchange)
        queue = await broker.declare_queue(self.queue)
        retry_exchange = await broker.declare_exchange(self.retry_exchange)
        retry_queue = await broker.declare_queue(self.retry_queue)
        await retry_queue.bind(retry_exchange, routing_key="wait")
        await queue.bind(retry_exchange, routing_key="back")
        dlq = await broker.declare_queue(self.dead_letter_queue)
        await dlq.bind(dlx, routing_key=self.names.queue)
        for routing_key in routing_keys:
            await queue.bind(exchange, routing_key=routing_key)
