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


class ChannelChanged(Event, routing_key="marketing.channel.changed.v1"):
    """A channel was created or changed (name, parent, active): what it is now.

    Carries every field, changed or not, so the newest event alone says what a copy
    should hold. `kind` is one of marketing's channel kinds (`distributor`, `dealer`,
    `retail`, `agent`, `online`, `project` today). Sales keeps each channel's kind for
    the price lists of channel kinds; a copy holding a newer `changed_at` ignores it.
    """

    channel_id: uuid.UUID
    name: str
    kind: str
    parent_id: uuid.UUID | None = None
    active: bool
    changed_at: datetime
