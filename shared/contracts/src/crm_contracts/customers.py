"""Events published by the customers service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from .envelope import Event

LifecycleStage = Literal["prospect", "traditional", "inactive"]
CareActivityKind = Literal["call", "visit", "email", "meeting", "demo"]


class CustomerRegistered(Event, routing_key="customers.customer.registered.v1"):
    """A customer record was created (as a prospect, unless imported otherwise)."""

    customer_id: uuid.UUID
    name: str
    lifecycle_stage: LifecycleStage
    owner_id: uuid.UUID | None = None
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    grade: str | None = None
    #: The Vietnamese tax code (10 digits, or 10-3 for a dependent unit), the registered
    #: name and the billing address, for quotes, orders, invoices and e-invoices.
    tax_code: str | None = None
    legal_name: str | None = None
    billing_address: str | None = None


class CustomerPromotedToTraditional(Event, routing_key="customers.customer.promoted_to_traditional.v1"):
    """A prospect made its first purchase and is now an established customer.

    Sales opens the customer for ordering; accounting opens the customer's account.
    """

    customer_id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None = None
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    #: The Vietnamese tax code (10 digits, or 10-3 for a dependent unit), the registered
    #: name and the billing address, for quotes, orders, invoices and e-invoices.
    tax_code: str | None = None
    legal_name: str | None = None
    billing_address: str | None = None
    promoted_at: datetime


class CustomerUpdated(Event, routing_key="customers.customer.updated.v1"):
    """An edit changed what other services keep of the customer: its name, region, channel,
    tax code, legal name or billing address.

    Carries the current value of each of them (changed or not), so the newest update
    alone says what a copy should hold. Sales takes them for the quotes and orders it
    makes from now on (those made before keep theirs), marketing for campaign audiences,
    accounting for the account's name and invoices. Edits of anything else (contacts,
    address) are not announced.
    """

    customer_id: uuid.UUID
    name: str
    region_code: str | None = None
    channel_id: uuid.UUID | None = None
    #: The Vietnamese tax code (10 digits, or 10-3 for a dependent unit), the registered
    #: name and the billing address, for quotes, orders, invoices and e-invoices.
    tax_code: str | None = None
    legal_name: str | None = None
    billing_address: str | None = None
    #: The customers service's time of the edit: a copy holding newer values ignores it.
    updated_at: datetime


class CustomerDeactivated(Event, routing_key="customers.customer.deactivated.v1"):
    """The customer is inactive (kept, never deleted) and its planned care is cancelled.

    Marketing leaves the customer out of campaign audiences; sales makes no new quote for
    it. A quote the customer accepts brings it back (CustomerPromotedToTraditional).
    """

    customer_id: uuid.UUID
    reason: str
    deactivated_at: datetime


class CustomersMerged(Event, routing_key="customers.customer.merged.v1"):
    """Two records of one business became one: `merged_customer_id` was folded into
    `customer_id` (the survivor), which took its contacts, care, grading history and
    timeline. The merged customer is kept, inactive, pointing at the survivor.

    Every service that keeps records of customers moves the merged customer's onto the
    survivor (sales its opportunities, quotes, orders and contracts; accounting its
    account, invoices, payments and ledger; marketing its revenue and campaign members),
    so a merged customer's figures count under the survivor, and resolves the merged id
    to the survivor from then on. A merge is final: handling it twice changes nothing.
    """

    #: The customer kept (the survivor).
    customer_id: uuid.UUID
    #: The customer folded into it (inactive from now on).
    merged_customer_id: uuid.UUID
    #: The survivor's owner.
    owner_id: uuid.UUID | None = None
    merged_at: datetime


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


class CareActivityPlanned(Event, routing_key="customers.activity.planned.v1"):
    """A piece of customer care (call, visit, ...) is planned for `owner_id` to do by `due_on`.

    Published when it is planned, and again, with the same `activity_id`, when the
    work moves to another person (the customer or the whole portfolio changes hands):
    the latest one for an activity says who should do it. The gateway reminds that
    person on the due day.
    """

    customer_id: uuid.UUID
    activity_id: uuid.UUID
    #: The customer's name when the activity was planned or moved.
    customer_name: str
    kind: CareActivityKind
    #: The day it should be done, in the business's calendar (Asia/Ho_Chi_Minh).
    due_on: date
    #: Who should do it (the customer's owner).
    owner_id: uuid.UUID | None = None
    #: Who had it before, when it moved to `owner_id` in a hand-over.
    previous_owner_id: uuid.UUID | None = None
    #: The first 200 characters of the activity's note.
    note: str | None = None


class CareActivityClosed(Event, routing_key="customers.activity.closed.v1"):
    """A planned care activity is over: `done` (with its outcome) or `cancelled` (by hand,
    or because the customer was deactivated). Nobody needs reminding of it any more."""

    customer_id: uuid.UUID
    activity_id: uuid.UUID
    #: Who it was planned for.
    owner_id: uuid.UUID | None = None
    status: Literal["done", "cancelled"]
    #: The day it was done (`done` only; may be earlier than the report).
    done_on: date | None = None
    closed_at: datetime
