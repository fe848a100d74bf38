"""Events published by the customers service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from .envelope import Event

LifecycleStage = Literal["prospect", "traditional", "inactive"]


class CustomerRegistered(Event, routing_key="customers.customer.registered.v1"):
    """A customer record was created (as a prospect, unless imported otherwise)."""

    customer_id: uuid.UUID
    name: str
    lifecycle_stage: LifecycleStage
    owner_id: uuid.UUID | None = None
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    grade: str | None = None


class CustomerPromotedToTraditional(Event, routing_key="customers.customer.promoted_to_traditional.v1"):
    """A prospect made its first purchase and is now an established customer.

    Sales opens the customer for ordering; accounting opens the customer's account.
    """

    customer_id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None = None
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    promoted_at: datetime
