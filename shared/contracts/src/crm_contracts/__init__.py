"""Event contracts of the distribution CRM.

Install this package alone to subscribe to the CRM's events: it depends on pydantic
only. Every contract has an explicit routing key `<service>.<entity>.<event>.v<N>`
on the topic exchange; see `docs/events.md` for the catalogue.
"""

from .customers import CustomerPromotedToTraditional, CustomerRegistered
from .envelope import REGISTRY, Envelope, Event, MalformedEvent, decode, published_contracts

__all__ = [
    "REGISTRY",
    "CustomerPromotedToTraditional",
    "CustomerRegistered",
    "Envelope",
    "Event",
    "MalformedEvent",
    "decode",
    "published_contracts",
]
