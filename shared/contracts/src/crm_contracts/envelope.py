"""The envelope every event travels in, and the base class of every payload.

The envelope follows CloudEvents' attributes (id, type, source, time) with its
correlation extension. The AMQP message carries the same `event_id` as its
`message_id` and the same `correlation_id`, so brokers and tools can see them
without decoding the body.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_ROUTING_KEY = re.compile(r"^(?P<type>[a-z]+\.[a-z_]+\.[a-z_]+)\.v(?P<version>[1-9][0-9]*)$")

#: Every contract class by its routing key, filled as the modules are imported.
REGISTRY: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of every event payload.

    A subclass names its routing key explicitly (never derived from the class
    name, so renaming a class cannot silently break a consumer)::

        class QuoteApproved(Event, routing_key="sales.quote.approved.v1"): ...

    Unknown fields are ignored on decoding: within a version, producers may only
    add optional fields, and old consumers must keep working.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    routing_key: ClassVar[str]
    event_type: ClassVar[str]
    version: ClassVar[int]

    def __init_subclass__(cls, routing_key: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if routing_key is None:
            return
        match = _ROUTING_KEY.match(routing_key)
        if match is None:
            raise ValueError(
                f"{cls.__name__}: routing key {routing_key!r} is not '<service>.<entity>.<event>.v<N>'"
            )
        if routing_key in REGISTRY:
            raise ValueError(f"routing key {routing_key!r} is taken by {REGISTRY[routing_key]}")
        cls.routing_key = routing_key
        cls.event_type = match["type"]
        cls.version = int(match["version"])
        REGISTRY[routing_key] = cls

    @classmethod
    def source_service(cls) -> str:
        return cls.routing_key.split(".", 1)[0]


E = TypeVar("E", bound=Event)


class Envelope(BaseModel):
    """What is on the wire: metadata plus the payload under `data`.

    Every field is always present on the wire (`causation_id` and `actor` as null when unset).
    """

    # ... so the serialisation schema (what the AsyncAPI documents show) requires them all.
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    version: int
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str
    correlation_id: str
    causation_id: uuid.UUID | None = None
    actor: uuid.UUID | None = None
    data: dict[str, Any]

    @property
    def routing_key(self) -> str:
        return f"{self.event_type}.v{self.version}"

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        correlation_id: str,
        causation_id: uuid.UUID | None = None,
        actor: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Envelope:
        return cls(
            event_id=event_id or uuid.uuid4(),
            event_type=event.event_type,
            version=event.version,
            source=event.source_service(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
            data=event.model_dump(mode="json"),
        )

    def payload(self, contract: type[E]) -> E:
        """The typed payload; raises `MalformedEvent` when it does not fit `contract`."""
        if contract.routing_key != self.routing_key:
            raise MalformedEvent(f"envelope is {self.routing_key}, not {contract.routing_key}")
        try:
            return contract.model_validate(self.data)
        except ValidationError as exc:
            raise MalformedEvent(f"{self.routing_key} payload: {_first_errors(exc)}") from exc


def published_contracts() -> list[type[Event]]:
    """The CRM's own contracts, by routing key (tests and subscribers may register more)."""
    return sorted(
        (c for c in REGISTRY.values() if c.__module__.startswith("crm_contracts.")),
        key=lambda c: c.routing_key,
    )


class MalformedEvent(ValueError):
    """A message that can never be processed as it is: it belongs in the dead-letter queue."""


def decode(body: bytes | str) -> Envelope:
    """Parse a message body into an envelope; `MalformedEvent` names what is wrong."""
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedEvent(f"envelope: {_first_errors(exc)}") from exc


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
