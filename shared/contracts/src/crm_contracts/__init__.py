"""Event contracts of the distribution CRM.

Install this package alone to subscribe to the CRM's events: it depends on pydantic
only. Every contract has an explicit routing key `<service>.<entity>.<event>.v<N>`
on the topic exchange; see `docs/events.md` for the catalogue.
"""

from .accounting import CompanyProfileUpdated, CreditChecked, CreditNoteIssued, InvoiceIssued
from .customers import (
    CareActivityClosed,
    CareActivityPlanned,
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    CustomersMerged,
    CustomerUpdated,
)
from .envelope import REGISTRY, Envelope, Event, MalformedEvent, decode, published_contracts
from .gateway import PortfolioReassigned, TokenRevoked, UserDeactivated, UserRegistered
from .leads import LeadCaptured, LeadDisqualified, LeadQualified
from .marketing import CampaignLaunched, ChannelChanged
from .sales import (
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    ProductGroupChanged,
    QuoteAccepted,
    QuoteApproved,
    QuoteDeclined,
    QuoteRejected,
    QuoteReopened,
    QuoteSent,
    QuoteSubmittedForApproval,
)

__all__ = [
    "REGISTRY",
    "CampaignLaunched",
    "CareActivityClosed",
    "CareActivityPlanned",
    "ChannelChanged",
    "CompanyProfileUpdated",
    "CreditChecked",
    "CreditNoteIssued",
    "CustomerDeactivated",
    "CustomerGraded",
    "CustomerPromotedToTraditional",
    "CustomerReassigned",
    "CustomerRegistered",
    "CustomerUpdated",
    "CustomersMerged",
    "Envelope",
    "Event",
    "InvoiceIssued",
    "LeadCaptured",
    "LeadDisqualified",
    "LeadQualified",
    "MalformedEvent",
    "OrderCancelled",
    "OrderLine",
    "OrderPlaced",
    "PortfolioReassigned",
    "ProductGroupChanged",
    "QuoteAccepted",
    "QuoteApproved",
    "QuoteDeclined",
    "QuoteRejected",
    "QuoteReopened",
    "QuoteSent",
    "QuoteSubmittedForApproval",
    "TokenRevoked",
    "UserDeactivated",
    "UserRegistered",
    "decode",
    "published_contracts",
]
