"""The consumer: a message in, its handler run in a transaction with its inbox record, acked.

A handler that returns acks its message. A transient failure is republished to the
retry queue (then acked); a malformed message is published to the dead-letter queue
with the reason (then acked); see `redelivery`. The acks of a batch go out together,
as one `multiple` ack where that covers only messages already dealt with (`acks`).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

from faststream.rabbit.annotations import RabbitMessage

from crm_contracts import MalformedEvent, decode

from . import context, inbox, metrics, tracing
from .acks import BatchAcks
from .batching import Batcher
from .db import Database
from .handlers import Delivery, Handler, Transient, is_waiting
from .redelivery import WAITING_SINCE, Counts, Redelivery

log = logging.getLogger(__name__)


class Consumer:
    """Handles the messages of one service's queue, several per transaction."""

    def __init__(
        self,
        db: Database,
        handlers: dict[str, Handler[Any]],
        redelivery: Redelivery,
        *,
        batch_size: int,
        max_attempts: int,
        transient_max_wait_s: float = float("inf"),
    ) -> None:
        self.db = db
        self.handlers = handlers
        self.redelivery = redelivery
        self.service = redelivery.service
        self.max_attempts = max_attempts
        self.transient_max_wait_s = transient_max_wait_s
        #: Deliveries handled together, one transaction per batch (see `_handle`).
        self._batcher: Batcher[Delivery, bool] = Batcher(self._handle, max_size=batch_size)
        #: Acks for what the batches dealt with, several messages per frame (`crm_kit.acks`).
        self.acks = BatchAcks()

    async def on_message(self, message: RabbitMessage) -> None:
        """FastStream's subscriber calls this with the undecoded message."""
        raw = message.raw_message
        # Settled by `self.acks`, together with the rest of its batch; locked, the
        # message is left alone by FastStream's own ack (and nack on error).
        raw.lock()
        channel, tag = raw.channel, raw.delivery_tag
        assert tag is not None, "a consumer's deliveries always carry a delivery tag"
        self.acks.seen(channel, tag)
        try:
            await self._consume(raw)
        except BaseException:
            self.acks.give_back(channel, tag)
            raise
        self.acks.finished(channel, tag)

    async def _consume(self, raw: Any) -> None:
        """Handle, retry later or dead-letter one message; raise only if none of that
        could be done (then it goes back to the queue)."""
        headers = dict(raw.headers or {})
        routing_key = str(headers.get("x-original-routing-key") or raw.routing_key or "")
        context.correlation_id.set(raw.correlation_id or context.new_correlation_id())
        context.event_id.set(None)

        try:
            counts = Counts.of(headers)
            delivery = self._decode(raw, headers)
        except MalformedEvent as exc:
            await self.redelivery.dead_letter(raw, headers, routing_key, str(exc), self._label(routing_key))
            return

        envelope = delivery.envelope
        context.correlation_id.set(envelope.correlation_id)
        context.event_id.set(envelope.event_id)
        with tracing.continued(headers):
            await self._settle(raw, delivery, headers, counts)

    async def _settle(self, raw: Any, delivery: Delivery, headers: dict[str, Any], counts: Counts) -> None:
        routing_key = delivery.envelope.routing_key
        try:
            fresh = await self._batcher.submit(delivery)
        except MalformedEvent as exc:
            await self.redelivery.dead_letter(raw, headers, routing_key, str(exc), routing_key)
            return
        except Exception as exc:
            await self._failed(raw, headers, routing_key, counts, exc)
            return

        if fresh:
            metrics.MESSAGES_CONSUMED.labels(self.service, routing_key).inc()
            log.debug("handled %s", routing_key, extra={"routing_key": routing_key})
        else:
            metrics.MESSAGES_DUPLICATE.labels(self.service, routing_key).inc()
            log.debug("duplicate %s skipped", routing_key, extra={"routing_key": routing_key})

    def _label(self, routing_key: str) -> str:
        """`routing_key` as a metric label: only a key this service handles, else "unknown"
        (a header or a stranger's key would make a new time series for every value)."""
        return routing_key if routing_key in self.handlers else "unknown"

    def _decode(self, raw: Any, headers: dict[str, Any]) -> Delivery:
        """The message as its handler takes it; `MalformedEvent` if it cannot be one."""
        envelope = decode(raw.body)
        handler = self.handlers.get(envelope.routing_key)
        if handler is None:
            raise MalformedEvent(f"{self.service} has no handler for {envelope.routing_key}")
        return Delivery(envelope, envelope.payload(handler.contract), handler, headers)

    async def _failed(
        self, raw: Any, headers: dict[str, Any], routing_key: str, counts: Counts, exc: Exception
    ) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        if isinstance(exc, Transient):
            # A prerequisite that has not arrived: it waits without using up a try, but
            # not forever (the event it waits for may itself have been dead-lettered).
            waited = counts.waited_s()
            if waited >= self.transient_max_wait_s:
                await self.redelivery.dead_letter(
                    raw,
                    headers,
                    routing_key,
                    f"waited {waited:.0f}s, more than TRANSIENT_MAX_WAIT_S "
                    f"({self.transient_max_wait_s:.0f}s), for: {reason}",
                    routing_key,
                )
            else:
                await self.redelivery.retry_later(raw, headers, routing_key, counts, reason, "wait")
        elif is_waiting(exc):
            # The database or the network: no event's fault, it waits as long as that takes.
            await self.redelivery.retry_later(raw, headers, routing_key, counts, reason, "outage")
        elif counts.attempt >= self.max_attempts:
            await self.redelivery.dead_letter(
                raw, headers, routing_key, f"gave up after {counts.attempt} tries: {reason}", routing_key
            )
        else:
            await self.redelivery.retry_later(raw, headers, routing_key, counts, reason, "try")

    async def _handle(self, batch: Sequence[Delivery]) -> list[bool | BaseException]:
        """Handle a batch of deliveries: whether each was fresh, or why it failed.

        All of them in one transaction first (one inbox statement, one commit). If
        any of them fails, that transaction is rolled back and each is handled in a
        transaction of its own, so only the failing one is retried or dead-lettered;
        unless the database or the network failed, which is no event's fault: then
        they all wait for a retry, rather than each trying (and timing out) alone.
        """
        metrics.CONSUME_BATCH.labels(self.service).observe(len(batch))
        # One that waited for a prerequisite before likely still waits: handled apart,
        # so the batch it came with is not rolled back and redone one by one again.
        apart = {i for i, d in enumerate(batch) if WAITING_SINCE in d.headers}
        if not apart or len(batch) == 1:
            return await self._together(batch)
        rest = iter(await self._together([d for i, d in enumerate(batch) if i not in apart]))
        outcomes: list[bool | BaseException] = []
        for i, delivery in enumerate(batch):
            outcomes.extend(await self._together([delivery]) if i in apart else [next(rest)])
        return outcomes

    async def _together(self, batch: Sequence[Delivery]) -> list[bool | BaseException]:
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
                session, self.service, [(d.envelope.event_id, d.envelope.routing_key) for d in batch]
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
