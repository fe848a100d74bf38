"""Events published by the leads service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from .envelope import Event

LeadSource = Literal["internet", "press", "partner_referral", "trade_fair", "walk_in", "campaign", "other"]


class LeadCaptured(Event, routing_key="leads.lead.captured.v1"):
    """A new lead entered the pipeline (typed in, imported, or kept after a merge).

    Counted as a lead worked in performance and as a campaign's lead; the owner is
    told a lead was assigned to them.
    """

    lead_id: uuid.UUID
    owner_id: uuid.UUID
    source: LeadSource
    full_name: str
    company: str | None = None
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    captured_at: datetime


class LeadQualified(Event, routing_key="leads.lead.qualified.v1"):
    """A lead was converted: customers creates the prospect `customer_id`, sales opens
    the opportunity `opportunity_id` when there is one. Both ids are minted here."""

    lead_id: uuid.UUID
    customer_id: uuid.UUID
    opportunity_id: uuid.UUID | None = None
    opportunity_name: str | None = None
    #: Integer dong.
    expected_amount: int | None = None
    #: The customer's name: the company if there is one, else the person.
    name: str
    contact_name: str
    phone: str | None = None
    email: str | None = None
    owner_id: uuid.UUID
    source: LeadSource
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    qualified_at: datetime
    #: The lead turned out to be `customer_id`, a customer that exists: no prospect is
    #: made (the customers service notes the lead in its timeline).
    onto_existing: bool = False


class LeadDisqualified(Event, routing_key="leads.lead.disqualified.v1"):
    """A lead was closed as not promising; nothing is created downstream."""

    lead_id: uuid.UUID
    owner_id: uuid.UUID
    reason: str
    note: str | None = None
    source: LeadSource
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    disqualified_at: datetime
