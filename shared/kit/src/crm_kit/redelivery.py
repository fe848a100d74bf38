"""What becomes of a message that was not handled: a delayed retry, or the dead-letter queue.

Both republish a copy (confirmed) and then the original is acked; only if that
republish itself fails does the original go back to the queue (nack), bounded by the
quorum queue's delivery limit.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from . import metrics
from .publishing import ConfirmedPublisher
from .topology import Declarations

log = logging.getLogger(__name__)


class Redelivery:
    def __init__(
        self, publisher: ConfirmedPublisher, declarations: Declarations, retry_delay_s: float
    ) -> None:
        self.publisher = publisher
        self.declarations = declarations
        self.retry_delay_s = retry_delay_s
        self.service = declarations.names.service

    async def retry_later(
        self,
        raw: Any,
        headers: dict[str, Any],
        routing_key: str,
        attempt: int,
        reason: str,
        *,
        counts: bool = True,
    ) -> None:
        """Send the message to the retry queue; back on the service's queue after the delay.

        `counts=False` for a message that waits for a prerequisite (or for the database):
        it does not use up a try.
        """
        waits = int(str(headers.get("x-waits", 0))) + (0 if counts else 1)
        # A message waiting for a prerequisite says so once a minute, not every try.
        if counts or waits % max(1, int(60 / self.retry_delay_s)) == 1:
            log.warning(
                "%s %s, retrying in %.1fs: %s",
                routing_key,
                f"failed (try {attempt})" if counts else f"waits (wait {waits})",
                self.retry_delay_s,
                reason,
                extra={"routing_key": routing_key, "attempt": attempt, "reason": reason},
            )
        metrics.MESSAGES_RETRIED.labels(self.service, routing_key).inc()
        await self._republish(
            raw,
            {
                **headers,
                "x-attempt": attempt + 1 if counts else attempt,
                "x-waits": waits,
                "x-last-error": reason,
                "x-original-routing-key": routing_key,
            },
            exchange=self.declarations.retry_exchange,
            routing_key="wait",
        )

    async def dead_letter(self, raw: Any, headers: dict[str, Any], routing_key: str, reason: str) -> None:
        """Send the message to the service's dead-letter queue with the reason."""
        log.error(
            "%s dead-lettered: %s",
            routing_key or "message",
            reason,
            extra={"routing_key": routing_key, "reason": reason},
        )
        metrics.MESSAGES_DEAD_LETTERED.labels(self.service, routing_key or "?").inc()
        await self._republish(
            raw,
            {**headers, "x-dead-letter-reason": reason[:2000], "x-original-routing-key": routing_key},
            exchange=self.declarations.dlx,
            routing_key=self.declarations.names.queue,
        )

    async def _republish(self, raw: Any, headers: dict[str, Any], **target: Any) -> None:
        # Keep the original message id so retried and dead-lettered copies stay traceable.
        await self.publisher.publish(
            raw.body,
            headers=headers,
            message_id=raw.message_id or str(uuid.uuid4()),
            correlation_id=raw.correlation_id,
            message_type=raw.type,
            **target,
        )
