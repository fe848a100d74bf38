"""RabbitMQ with safe defaults: topology, confirmed publishing, and the event consumer.

Topology (names carry the namespace, `crm` unless a test run sets another):

- `crm.events`      durable topic exchange; every event, routing key `<svc>.<entity>.<event>.vN`
- `crm.<service>`   the service's durable quorum queue, bound to the keys it handles,
                    dead-lettering to `crm.dlx` after `delivery_limit` redeliveries
- `crm.<service>.retry`  the service's own direct exchange for delayed retries: key
                    `wait` -> queue `crm.<service>.retry` (message TTL), whose expired
                    messages dead-letter back through it with key `back` -> `crm.<service>`.
                    Only the service's own names are involved, so its RabbitMQ user
                    needs no right on the default exchange (which reaches every queue).
- `crm.dlx` -> `crm.<service>.dlq`  what could not be processed, with the reason

Acks: a handler that returns acks its message. A transient failure is republished
to the retry queue (then acked); a malformed message is published to the
dead-letter queue with the reason (then acked). Only if that republish itself
fails does the message get nacked and requeued, bounded by the quorum queue's
delivery limit. The acks of a batch go out together, as one `multiple` ack where
that covers only messages already dealt with (`crm_kit.acks`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic

import aiormq
from faststream import AckPolicy
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from faststream.rabbit.annotations import RabbitMessage
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, MalformedEvent, decode
from crm_contracts.envelope import E

from . import context, inbox, metrics, tracing
from .acks import BatchAcks
from .batching import Batcher
from .db import Database
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
    def queue(self) -> str:
        return f"{self.namespace}.{self.service}"

    @property
    def retry_queue(self) -> str:
        return f"{self.queue}.retry"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dlq"


class PublishFailed(Exception):
    """The broker did not take responsibility for a message (nack, return or timeout)."""


class Transient(Exception):
    """Raise from a handler when it cannot act *yet* (a prerequisite has not arrived).

    The message is retried after the retry delay for as long as it takes, never
    dropped and never dead-lettered; so is one that failed because the database
    or the network was unreachable. Any other exception is retried the same way
    up to `max_attempts`, then dead-lettered with the reason; `MalformedEvent`
    goes to the dead-letter queue at once.
    """


def is_waiting(exc: BaseException) -> bool:
    """Whether a failure says "not yet" (a prerequisite, the database, the network)
    rather than "never"; such a message waits without using up its tries."""
    if isinstance(exc, Transient | ConnectionError | TimeoutError | OSError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(
            exc, sa_exc.InterfaceError | sa_exc.OperationalError
        )
    return isinstance(exc, sa_exc.TimeoutError)


HandlerFn = Callable[[AsyncSession, E, Envelope], Awaitable[None]]
#: Handles several events of one contract at once, in one transaction (set-based SQL).
ManyHandlerFn = Callable[[AsyncSession, Sequence[tuple[E, Envelope]]], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """A decoded message on its way to its handler."""

    envelope: Envelope
    event: Any
    handler: Handler[Any]
    headers: dict[str, Any]


@dataclass(frozen=True)
class Handler(Generic[E]):
    """How a service handles one contract: event by event, or several at once."""

    contract: type[E]
    one: HandlerFn[E] | None = None
    many: ManyHandlerFn[E] | None = None

    async def run(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
        """Handle fresh deliveries of this contract, in order, in the caller's transaction."""
        if self.many is not None:
            with tracing.consuming_many(self.contract.routing_key, [d.headers for d in deliveries]):
                await self.many(session, [(d.event, d.envelope) for d in deliveries])
            return
        assert self.one is not None
        for delivery in deliveries:
            envelope = delivery.envelope
            with (
                context.handling(envelope.correlation_id, envelope.event_id),
                tracing.consuming(envelope.routing_key, delivery.headers),
            ):
                await self.one(session, delivery.event, envelope)


class Handlers:
    """A service's event handlers, one per contract; its `consumers.py` fills one.

    Each handler runs in one transaction together with the inbox record of the
    event, so a redelivered event has no second effect::

        handlers = Handlers()

        @handlers.handles(CustomerPromotedToTraditional)
        async def open_account(session, event, envelope): ...
    """

    def __init__(self) -> None:
        self.by_key: dict[str, Handler[Any]] = {}

    def handles(self, contract: type[E]) -> Callable[[HandlerFn[E]], HandlerFn[E]]:
        def register(fn: HandlerFn[E]) -> HandlerFn[E]:
            self._add(Handler(contract, one=fn))
            return fn

        return register

    def handles_many(self, contract: type[E]) -> Callable[[ManyHandlerFn[E]], ManyHandlerFn[E]]:
        """For a hot path: the handler gets every fresh event of `contract` that arrived
        together (one, under a light load), and may act on them in a few statements.

        It must have the effect of handling them one after another in that order;
        while doing something for one event in particular (emitting an event, say), it
        says so with `context.handling(envelope.correlation_id, envelope.event_id)`.
        """

        def register(fn: ManyHandlerFn[E]) -> ManyHandlerFn[E]:
            self._add(Handler(contract, many=fn))
            return fn

        return register

    def _add(self, handler: Handler[Any]) -> None:
        if handler.contract.routing_key in self.by_key:
            raise ValueError(f"{handler.contract.routing_key} already has a handler")
        self.by_key[handler.contract.routing_key] = handler


async def _undecoded(message: RabbitMessage) -> RabbitMessage:
    """The message itself, for `EventBus._on_message` (which decodes the body itself)."""
    return message


class EventBus:
    """One per service process: publishes the outbox and consumes the service's queue."""

    def __init__(self, settings: ServiceSettings, db: Database, handlers: Handlers | None = None) -> None:
        self.settings = settings
        self.db = db
        self.topology = Topology(settings.bus_namespace, settings.service_name)
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
        self.exchange = RabbitExchange(self.topology.exchange, type=ExchangeType.TOPIC, durable=True)
        self.dlx = RabbitExchange(self.topology.dead_letter_exchange, type=ExchangeType.DIRECT, durable=True)
        self.queue = RabbitQueue(
            self.topology.queue,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-dead-letter-exchange": self.topology.dead_letter_exchange,
                "x-dead-letter-routing-key": self.topology.queue,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-delivery-limit": settings.delivery_limit,
            },
        )
        self.retry_queue = RabbitQueue(
            self.topology.retry_queue,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-message-ttl": int(settings.retry_delay_s * 1000),
                "x-dead-letter-exchange": self.topology.retry_queue,
                "x-dead-letter-routing-key": "back",
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        self.retry_exchange = RabbitExchange(
            self.topology.retry_queue, type=ExchangeType.DIRECT, durable=True
        )
        self.dead_letter_queue = RabbitQueue(
            self.topology.dead_letter_queue, queue_type=QueueType.QUORUM, durable=True
        )
        #: A channel of its own for readiness probes, so a probe never disturbs consuming.
        self._probe_channel = Channel(publisher_confirms=False)
        #: Deliveries handled together, one transaction per batch (see `_handle`).
        self._batcher: Batcher[Delivery, bool] = Batcher(self._handle, max_size=settings.consume_batch_size)
        #: Acks for what the batches dealt with, several messages per frame (`crm_kit.acks`).
        self._acks = BatchAcks()
        self.subscriber = self.broker.subscriber(self.queue, title=f"{self.topology.queue}")
        # `_on_message` decodes the body itself. FastStream's default decoder parses
        # JSON before any of our code runs, so a malformed body raised there, was
        # requeued in a hot loop and dead-lettered by the delivery limit with no reason.
        self.subscriber(self._on_message, decoder=_undecoded)

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.connect()
        await self.declare()
        await self.broker.start()

    async def stop(self) -> None:
        # Stop taking messages, let those in hand finish, and send their acks while
        # the channel is still open.
        await self.subscriber.stop()
        await self._acks.drained()
        await self.broker.stop()

    async def declare(self) -> None:
        """Declare this service's part of the topology; idempotent, restored on reconnect."""
        exchange = await self.broker.declare_exchange(self.exchange)
        dlx = await self.broker.declare_exchange(self.dlx)
        queue = await self.broker.declare_queue(self.queue)
        retry_exchange = await self.broker.declare_exchange(self.retry_exchange)
        retry_queue = await self.broker.declare_queue(self.retry_queue)
        await retry_queue.bind(retry_exchange, routing_key="wait")
        await queue.bind(retry_exchange, routing_key="back")
        dlq = await self.broker.declare_queue(self.dead_letter_queue)
        await dlq.bind(dlx, routing_key=self.topology.queue)
        for routing_key in self.handlers:
            await queue.bind(exchange, routing_key=routing_key)

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

    # -- publishing ----------------------------------------------------------------

    async def publish(self, routing_key: str, body: bytes, properties: dict[str, Any]) -> None:
        """Publish an event; raise `PublishFailed` unless confirmed *and* routed."""
        await self._confirmed(
            body,
            exchange=self.exchange,
            routing_key=routing_key,
            message_type=routing_key,
            **properties,
        )

    async def _confirmed(self, body: bytes, **kwargs: Any) -> None:
        try:
            result = await self.broker.publish(
                body,
                mandatory=True,
                persist=True,
                content_type="application/json",
                timeout=self.settings.publish_timeout_s,
                **kwargs,
            )
        except Exception as exc:  # connection lost, nack, timeout: all mean "not taken"
            raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(result, aiormq.spec.Basic.Ack):
            where = kwargs.get("routing_key") or kwargs.get("queue")
            raise PublishFailed(f"unroutable or refused: no queue took {where!r} ({type(result).__name__})")

    # -- consuming -----------------------------------------------------------------

    async def _on_message(self, message: RabbitMessage) -> None:
        raw = message.raw_message
        # Settled by `self._acks`, together with the rest of its batch; locked, the
        # message is left alone by FastStream's own ack (and nack on error).
        raw.lock()
        channel, tag = raw.channel, raw.delivery_tag
        assert tag is not None, "a consumer's deliveries always carry a delivery tag"
        self._acks.seen(channel, tag)
        try:
            await self._consume(raw)
        except BaseException:
            self._acks.give_back(channel, tag)
            raise
        self._acks.finished(channel, tag)

    async def _consume(self, raw: Any) -> None:
        """Handle, retry later or dead-letter one message; raise only if none of that
        could be done (then it goes back to the queue)."""
        headers = dict(raw.headers or {})
        attempt = int(str(headers.get("x-attempt", 1)))
        routing_key = str(headers.get("x-original-routing-key") or raw.routing_key or "")
        context.correlation_id.set(raw.correlation_id or context.new_correlation_id())
        context.event_id.set(None)

        try:
            envelope = decode(raw.body)
            handler = self.handlers.get(envelope.routing_key)
            if handler is None:
                raise MalformedEvent(f"{self.topology.service} has no handler for {envelope.routing_key}")
            event = envelope.payload(handler.contract)
        except MalformedEvent as exc:
            await self._dead_letter(raw, headers, routing_key, str(exc))
            return

        context.correlation_id.set(envelope.correlation_id)
        context.event_id.set(envelope.event_id)
        routing_key = envelope.routing_key
        try:
            fresh = await self._batcher.submit(Delivery(envelope, event, handler, headers))
        except MalformedEvent as exc:
            await self._dead_letter(raw, headers, routing_key, str(exc))
            return
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:1000]
            if is_waiting(exc):
                # Not the message's fault: it waits as long as it takes, never dead-lettered.
                await self._retry_later(raw, headers, routing_key, attempt, reason, counts=False)
            elif attempt >= self.settings.max_attempts:
                await self._dead_letter(raw, headers, routing_key, f"gave up after {attempt} tries: {reason}")
            else:
                await self._retry_later(raw, headers, routing_key, attempt, reason)
            return

        if fresh:
            metrics.MESSAGES_CONSUMED.labels(self.topology.service, routing_key).inc()
            log.debug("handled %s", routing_key, extra={"routing_key": routing_key})
        else:
            metrics.MESSAGES_DUPLICATE.labels(self.topology.service, routing_key).inc()
            log.debug("duplicate %s skipped", routing_key, extra={"routing_key": routing_key})

    async def _handle(self, batch: Sequence[Delivery]) -> list[bool | BaseException]:
        """Handle a batch of deliveries: whether each was fresh, or why it failed.

        All of them in one transaction first (one inbox statement, one commit). If
        any of them fails, that transaction is rolled back and each is handled in a
        transaction of its own, so only the failing one is retried or dead-lettered;
        unless the database or the network failed, which is no event's fault: then
        they all wait for a retry, rather than each trying (and timing out) alone.
        """
        metrics.CONSUME_BATCH.labels(self.topology.service).observe(len(batch))
        if len(batch) > 1:
            try:
                return list(await self._in_one_transaction(batch))
            except Exception as exc:
                if is_waiting(exc) and not isinstance(exc, Transient):
                    return [exc] * len(batch)
                log.debug("a batch of %d failed (%s); handling each on its own", len(batch), exc)
        outcomes: list[bool | BaseException] = []
        for delivery in batch:
            try:
                outcomes.extend(await self._in_one_transaction([delivery]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    async def _in_one_transaction(self, batch: Sequence[Delivery]) -> list[bool]:
        async with self.db.transaction() as session:
            fresh = await inbox.claim_many(
                session, self.topology.service, [(d.envelope.event_id, d.envelope.routing_key) for d in batch]
            )
            outcomes = []
            # Runs of the same contract go to their handler together, in order of arrival.
            for handler, run in itertools.groupby(batch, key=lambda d: d.handler):
                todo = []
                for delivery in run:
                    event_id = delivery.envelope.event_id
                    outcomes.append(event_id in fresh)
                    if event_id in fresh:
                        todo.append(delivery)
                    fresh.discard(event_id)  # a second copy in the same batch is a duplicate
                if todo:
                    await handler.run(session, todo)
        return outcomes

    async def _retry_later(
        self,
        raw: Any,
        headers: dict[str, Any],
        routing_key: str,
        attempt: int,
        reason: str,
        *,
        counts: bool = True,
    ) -> None:
        waits = int(str(headers.get("x-waits", 0))) + (0 if counts else 1)
        # A message waiting for a prerequisite says so once a minute, not every try.
        if counts or waits % max(1, int(60 / self.settings.retry_delay_s)) == 1:
            log.warning(
                "%s %s, retrying in %.1fs: %s",
                routing_key,
                f"failed (try {attempt})" if counts else f"waits (wait {waits})",
                self.settings.retry_delay_s,
                reason,
                extra={"routing_key": routing_key, "attempt": attempt, "reason": reason},
            )
        metrics.MESSAGES_RETRIED.labels(self.topology.service, routing_key).inc()
        await self._republish(
            raw,
            {
                **headers,
                "x-attempt": attempt + 1 if counts else attempt,
                "x-waits": waits,
                "x-last-error": reason,
                "x-original-routing-key": routing_key,
            },
            exchange=self.retry_exchange,
            routing_key="wait",
        )

    async def _dead_letter(self, raw: Any, headers: dict[str, Any], routing_key: str, reason: str) -> None:
        log.error(
            "%s dead-lettered: %s",
            routing_key or "message",
            reason,
            extra={"routing_key": routing_key, "reason": reason},
        )
        metrics.MESSAGES_DEAD_LETTERED.labels(self.topology.service, routing_key or "?").inc()
        await self._republish(
            raw,
            {**headers, "x-dead-letter-reason": reason[:2000], "x-original-routing-key": routing_key},
            exchange=self.dlx,
            routing_key=self.topology.queue,
        )

    async def _republish(self, raw: Any, headers: dict[str, Any], **target: Any) -> None:
        # Keep the original message id so retried and dead-lettered copies stay traceable.
        await self._confirmed(
            raw.body,
            headers=headers,
            message_id=raw.message_id or str(uuid.uuid4()),
            correlation_id=raw.correlation_id,
            message_type=raw.type,
            **target,
        )
