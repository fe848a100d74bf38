"""Marketing's read models, kept from other services' events (never their databases):
customers and leads for campaigns, order lines for revenue, and staff hand-overs.

Events from different queues arrive in any order, so each write is an upsert that
never moves a record backwards (a registration after a promotion leaves the
customer traditional; an edit older than the one the profile holds changes nothing;
a capture after the decision leaves the outcome).
"""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, case, func, or_
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    CustomerUpdated,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
    OrderPlaced,
    PortfolioReassigned,
)
from crm_kit.db import table_of

from . import channels, regions
from .domain import Period
from .models import CustomerProfile, LeadFact, RevenueFact

_PROFILE = CustomerProfile.__table__.c
_DETAILS = ("name", "region_code", "channel_id")


def _if_newer(stmt: Insert, as_of: str, columns: tuple[str, ...]) -> dict[str, ColumnElement[Any]]:
    """ON CONFLICT assignments taking `columns` from the incoming row only if its `as_of`
    (the customers service's time) is newer than the stored row's, or the row has none."""
    newer = or_(_PROFILE[as_of].is_(None), _PROFILE[as_of] < stmt.excluded[as_of])
    return {
        **{column: case((newer, stmt.excluded[column]), else_=_PROFILE[column]) for column in columns},
        as_of: func.greatest(_PROFILE[as_of], stmt.excluded[as_of]),
    }


async def customer_registered(
    session: AsyncSession, event: CustomerRegistered, occurred_at: datetime
) -> None:
    stmt = insert(CustomerProfile).values(
        customer_id=event.customer_id,
        name=event.name,
        lifecycle_stage=event.lifecycle_stage,
        grade=event.grade,
        owner_id=event.owner_id,
        region_code=event.region_code,
        channel_id=event.channel_id,
        details_as_of=occurred_at,
        stage_as_of=occurred_at,
    )
    # Later events (promotion, edit, deactivation, grade, new owner) may have come first
    # and made a placeholder: fill in what it lacks, keep what they said.
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CustomerProfile.customer_id],
            set_={
                **_if_newer(stmt, "details_as_of", _DETAILS),
                "owner_id": func.coalesce(_PROFILE.owner_id, stmt.excluded.owner_id),
                "grade": func.coalesce(_PROFILE.grade, stmt.excluded.grade),
                "updated_at": func.now(),
            },
        )
    )


async def customers_promoted(session: AsyncSession, events: Sequence[CustomerPromotedToTraditional]) -> None:
    """Promotions that arrived together, in one statement (marketing's busiest event)."""
    await _record(
        session,
        [
            _ProfileFact(
                event.customer_id,
                event.promoted_at,
                details={
                    "name": event.name,
                    "region_code": event.region_code,
                    "channel_id": event.channel_id,
                },
                stage="traditional",
                always={"owner_id": event.owner_id},
            )
            for event in events
        ],
    )


async def customer_updated(session: AsyncSession, event: CustomerUpdated) -> None:
    """The new name, region and channel count for audiences from now on; revenue already
    booked stays under the region and channel of its order."""
    details = {"name": event.name, "region_code": event.region_code, "channel_id": event.channel_id}
    await _record(session, [_ProfileFact(event.customer_id, event.updated_at, details=details)])


async def customer_deactivated(session: AsyncSession, event: CustomerDeactivated) -> None:
    """An inactive customer leaves the campaign audiences (`campaigns._audience`)."""
    await _record(session, [_ProfileFact(event.customer_id, event.deactivated_at, stage="inactive")])


@dataclass(frozen=True)
class _ProfileFact:
    """What the customers service said of a customer at `as_of`."""

    customer_id: uuid.UUID
    as_of: datetime
    details: dict[str, Any] | None = None
    stage: str | None = None
    #: Columns taken as given, whatever the time.
    always: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[bool, bool, tuple[str, ...]]:
        return self.details is not None, self.stage is not None, tuple(sorted(self.always))

    def row(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "customer_id": self.customer_id,
            "name": "",
            "lifecycle_stage": "prospect",
            **self.always,
        }
        if self.details is not None:
            values |= {**self.details, "details_as_of": self.as_of}
        if self.stage is not None:
            values |= {"lifecycle_stage": self.stage, "stage_as_of": self.as_of}
        return values


async def _record(session: AsyncSession, facts: Sequence[_ProfileFact]) -> None:
    """Upsert what the customers service said: the details and the stage each change
    only if they are newer than the profile's. An unknown customer gets a placeholder
    that its registration completes. Facts of one shape go in one statement, whose
    rows are its parameters: it is built and compiled once per shape, not per event."""
    for shape, same in itertools.groupby(facts, key=lambda fact: fact.shape):
        await session.execute(_record_statement(*shape), [fact.row() for fact in same])


@functools.cache
def _record_statement(details: bool, stage: bool, always: tuple[str, ...]) -> Executable:
    stmt = insert(table_of(CustomerProfile))
    set_: dict[str, Any] = {column: stmt.excluded[column] for column in always}
    set_["updated_at"] = func.now()
    if details:
        set_ |= _if_newer(stmt, "details_as_of", _DETAILS)
    if stage:
        set_ |= _if_newer(stmt, "stage_as_of", ("lifecycle_stage",))
    return stmt.on_conflict_do_update(index_elements=[_PROFILE.customer_id], set_=set_)


async def customer_graded(session: AsyncSession, event: CustomerGraded) -> None:
    # A grade may arrive before the registration: keep it on a placeholder row that
    # the registration will not overwrite, and that it completes below.
    await _upsert_profile(session, event.customer_id, grade=event.grade)


async def customer_reassigned(session: AsyncSession, event: CustomerReassigned) -> None:
    await _upsert_profile(session, event.customer_id, owner_id=event.to_owner_id)


async def _upsert_profile(session: AsyncSession, customer_id: Any, **values: Any) -> None:
    placeholder = {"name": "", "lifecycle_stage": "prospect", **values}
    await session.execute(
        insert(CustomerProfile)
        .values(customer_id=customer_id, **placeholder)
        .on_conflict_do_update(
            index_elements=[CustomerProfile.customer_id], set_={**values, "updated_at": func.now()}
        )
    )


async def lead_captured(session: AsyncSession, event: LeadCaptured) -> None:
    facts = {
        "owner_id": event.owner_id,
        "source": event.source,
        "region_code": event.region_code,
        "channel_id": event.channel_id,
        "campaign_id": event.campaign_id,
        "captured_at": event.captured_at,
    }
    await session.execute(
        insert(LeadFact)
        .values(lead_id=event.lead_id, outcome="captured", **facts)
        .on_conflict_do_update(index_elements=[LeadFact.lead_id], set_=facts)
    )


async def lead_decided(session: AsyncSession, event: LeadQualified | LeadDisqualified) -> None:
    qualified = isinstance(event, LeadQualified)
    decision = {
        "outcome": "qualified" if qualified else "disqualified",
        "customer_id": event.customer_id if isinstance(event, LeadQualified) else None,
        "decided_at": event.qualified_at if isinstance(event, LeadQualified) else event.disqualified_at,
        "owner_id": event.owner_id,
        "source": event.source,
        "region_code": event.region_code,
        "channel_id": event.channel_id,
        "campaign_id": event.campaign_id,
    }
    await session.execute(
        insert(LeadFact)
        .values(lead_id=event.lead_id, **decision)
        .on_conflict_do_update(index_elements=[LeadFact.lead_id], set_=decision)
    )


async def order_placed(session: AsyncSession, event: OrderPlaced) -> None:
    """Each line's net revenue under the order's region (a former code is mapped to the
    province it is part of now), channel, product group and quarter. Keyed by order and
    line, so an order sent twice (even as two events) counts once."""
    if not event.lines:
        return
    quarter = Period.of_quarter(event.order_date)
    region_code = regions.index().current_code(event.region_code)
    await session.execute(
        insert(RevenueFact)
        .values(
            [
                {
                    "order_id": event.order_id,
                    "line_no": line_no,
                    "customer_id": event.customer_id,
                    "region_code": region_code,
                    # Sized to fit: a malformed value must not make the order fail for ever.
                    "source_region_code": event.region_code[:10] if event.region_code else None,
                    "channel_id": event.channel_id,
                    "product_group": line.product_group[:100],
                    "year": quarter.year,
                    "quarter": quarter.quarter,
                    "order_date": event.order_date,
                    "net_amount": line.net_amount,
                    "currency": event.currency,
                    "placed_at": event.placed_at,
                }
                for line_no, line in enumerate(event.lines, start=1)
            ]
        )
        .on_conflict_do_nothing(index_elements=[RevenueFact.order_id, RevenueFact.line_no])
    )


async def portfolio_reassigned(session: AsyncSession, event: PortfolioReassigned) -> None:
    """A leaving salesperson's channel x region assignments go to their successor."""
    await channels.move_assignments(session, event.from_user_id, event.to_user_id)
