"""Events published by the marketing service."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from .envelope import Event


class CampaignLaunched(Event, routing_key="marketing.campaign.launched.v1"):
    """A campaign started: leads may now be captured with its id, and its audience
    (customers by grade, stage, region and channel) was fixed at `audience_size`."""

    campaign_id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date | None = None
    audience_size: int
    launched_by: uuid.UUID | None = None
    launched_at: datetime
