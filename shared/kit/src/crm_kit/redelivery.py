"""What becomes of a message that was not handled: a delayed retry, or the dead-letter queue.

Both republish a copy (confirmed) and then the original is acked; only if that
republish itself fails does the original go back to the queue (nack), bounded by the
quorum queue's delivery limit.

A copy carries its counts in headers (`Counts`): `x-attempt` (tries that failed, used
up to `MAX_ATTEMPTS`), `x-waits` (retries that used no try) and `x-waiting-since` (when
it first waited for a prerequisite, for `TRANSIENT_MAX_WAIT_S`). They come from the
wire, so a value that is not a count dead-letters the message with the reason.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from crm_contracts import MalformedEvent

from . import metrics
from .publishing import ConfirmedPublisher
from .topology import Declarations

log = logging.getLogger(__name__)

#: When a message first waited for a prerequisite (`Transient`), in Unix seconds.
WAITING_SINCE = "x-waiting-since"

#: Why a message is retried: a failed try (counts towards MAX_ATTEMPTS), a prerequisite
#: it waits for (bounded by TRANSIENT_MAX_WAIT_S), or an outage of the database or network.
Why = Literal["try", "wait", "outage"]


@dataclass(frozen=True)
class Counts:
    """What a message's headers say about its earlier tries."""

    attempt: int = 1
    waits: int = 0
    waiting_since: float | None = None

    @classmethod
    def of(cls, headers: dict[str, Any]) -> Counts:
        """The counts in `headers`; `MalformedEvent` naming the header if one is not a count."""
        since = headers.get(WAITING_SINCE)
        return cls(
            attempt=_count(headers, "x-attempt", 1, least=1),
            waits=_count(headers, "x-waits", 0, least=0),
            waiting_since=None if since is None else float(_count(headers, WAITING_SINCE, 0, least=0)),
        )

    def waited_s(self) -> float:
        """Seconds since it first waited for a prerequisite (0 if this is the first time)."""
        return 0.0 if self.waiting_since is None else max(0.0, time.time() - self.waiting_since)

    def after(self, why: Why) -> dict[str, Any]:
        """The headers of the copy that is retried for reason `why`."""
        return {
            "x-attempt": self.attempt + 1 if why == "try" else self.attempt,
            "x-waits": self.waits + (0 if why == "try" else 1),
            **({WAITING_SINCE: round(self.waiting_since or time.time())} if why == "wait" else {}),
        }


def _count(headers: dict[str, Any], name: str, default: int, *, least: int) -> int:
    value = headers.get(name, default)
    try:
        if isinstance(value, bool | bytes) or float(value) != int(value):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise MalformedEvent(f"header {name} is not a count: {str(value)[:40]!r}") from None
    if number < least:
        raise MalformedEvent(f"header {name} is below {least}: {number}")
    return number


class Redelivery:
    def __init__(
        self, publisher: ConfirmedPublisher, declarations: Declarations, retry_delay_s: float
    ) -> None:
        self.publisher = publisher
        self.declarations = declarations
        self.retry_delay_s = retry_delay_s
        self.service = declarations.names.service

    async def retry_later(
        self, raw: Any, headers: dict[str, Any], routing_key: str, counts: Counts, reason: str, why: Why
    ) -> None:
        """Send the message to the retry queue; back on the service's queue after the delay.

        Only a failed try (`why="try"`) uses one up; a wait for a prerequisite or an
        outage does not.
        """
        after = counts.after(why)
        waits = after["x-waits"]
        # A message waiting for a prerequisite says so once a minute, not every try.
        if why == "try" or waits % max(1, int(60 / self.retry_delay_s)) == 1:
            log.warning(
                "%s %s, retrying in %.1fs: %s",
                routing_key,
                f"failed (try {counts.attempt})" if why == "try" else f"waits (wait {waits})",
                self.retry_delay_s,
                reason,
                extra={"routing_key": routing_key, "attempt": counts.attempt, "reason": reason},
            )
        metrics.MESSAGES_RETRIED.labels(self.service, routing_key).inc()
        await self._republish(
            raw,
            {**headers, **after, "x-last-error": reason, "x-original-routing-key": routing_key},
            exchange=self.declarations.retry_exchange,
            routing_key="wait",
        )

    async def dead_letter(
        self, raw: Any, headers: dict[str, Any], routing_key: str, reason: str, label: str
    ) -> None:
        """Send the message to the service's dead-letter queue with the reason; `label`
        is the routing key as a metric label (one the service handles, or "unknown")."""
        log.error(
            "%s dead-lettered: %s",
            routing_key or "message",
            reason,
            extra={"routing_key": routing_key, "reason": reason},
        )
        metrics.MESSAGES_DEAD_LETTERED.labels(self.service, label).inc()
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
