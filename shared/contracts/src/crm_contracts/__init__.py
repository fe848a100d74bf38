"""Event contracts of the distribution CRM.

Install this package alone to subscribe to the CRM's events: it depends on pydantic
only. Every contract has an explicit routing key `<service>.<entity>.<event>.v<N>`
on the topic exchange; see `docs/events.md` for the catalogue.
"""

from .customers import (
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
)
from .envelope import REGISTRY, Envelope, Event, MalformedEvent, decode, published_contracts
from .gateway import PortfolioReassigned, UserDeactivated, UserRegistered
from .leads import LeadCaptured, LeadDisqualified, LeadQualified

__all__ = [
    "REGISTRY",
    "CustomerGraded",
    "CustomerPromotedToTraditional",
    "CustomerReassigned",
    "CustomerRegistered",
    "Envelope",
    "Event",
    "LeadCaptured",
    "LeadDisqualified",
    "LeadQualified",
    "MalformedEvent",
    "PortfolioReassigned",
    "UserDeactivated",
    "UserRegistered",
    "decode",
    "published_contracts",
]
