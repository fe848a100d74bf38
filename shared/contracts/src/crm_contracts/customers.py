"""Events published by the customers service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
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


class CustomerGraded(Event, routing_key="customers.customer.graded.v1"):
    """A questionnaire assessment gave the customer a grade (first grading or a review).

    Marketing uses it for campaign audiences, sales for priorities.
    """

    customer_id: uuid.UUID
    assessment_id: uuid.UUID
    questionnaire_id: uuid.UUID
    questionnaire_version: int
    #: The weighted score, 0-100.
    score: float
    grade: str
    previous_grade: str | None = None
    owner_id: uuid.UUID | None = None
    graded_at: datetime
    next_review_on: date | None = None


class CustomerReassigned(Event, routing_key="customers.customer.reassigned.v1"):
    """The customer has a new owner (one move, or part of a portfolio hand-over).

    Services that keep a copy of the customer move their copy's owner with it.
    """

    customer_id: uuid.UUID
    from_owner_id: uuid.UUID | None = None
    to_owner_id: uuid.UUID
    reassigned_at: datetime
