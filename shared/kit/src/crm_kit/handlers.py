"""A service's event handlers, one per contract, and what a handler's failure means.

A service's `consumers.py` fills a `Handlers`; the bus's consumer (`consuming`) runs
each handler in one transaction together with the event's inbox record, so a
redelivered event has no second effect::

    handlers = Handlers()

    @handlers.handles(CustomerPromotedToTraditional)
    async def open_account(session, event, envelope): ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope
from crm_contracts.envelope import E

from . import context, tracing
from .db import unavailable


class Transient(Exception):
    """Raise from a handler when it cannot act *yet* (a prerequisite has not arrived).

    The message is retried after the retry delay without using up a try, for up to
    `TRANSIENT_MAX_WAIT_S` (the prerequisite may itself have been dead-lettered),
    then dead-lettered with what it waited for; one that failed because the database
    or the network was unreachable waits however long that takes. Any other
    exception is retried the same way up to `max_attempts`, then dead-lettered with
    the reason; `MalformedEvent` goes to the dead-letter queue at once.
    """


def is_waiting(exc: BaseException) -> bool:
    """Whether a failure says "not yet" (a prerequisite, the database, the network)
    rather than "never"; such a message waits without using up its tries.

    The database's "not now" (`db.unavailable`) includes a read-only transaction after
    a failover. A statement the server cancelled past its statement or lock timeout
    does use up a try: a handler whose work is always too slow is dead-lettered in
    the end rather than retried for ever.
    """
    return isinstance(exc, Transient) or unavailable(exc)


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
    """A service's event handlers, one per contract (see the module's docstring)."""

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
