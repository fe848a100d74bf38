"""Sales' own copy of the customers, kept from the customers service's events (sales never
reads its database): a prospect is quotable, a traditional customer open for ordering,
an inactive one gets no new quote. Events arrive in any order, so each keeps the newest
fact by the customers service's time."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, ScalarSelect, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    CustomerUpdated,
    Envelope,
)
from crm_kit import context, errors, ownership
from crm_kit.auth import User
from crm_kit.batching import distinct_runs
from crm_kit.db import table_of
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, visible_to

from . import domain, performance
from .common import escape_like, utc_now, where_given
from .domain import CustomerStage, FactKind, QuoteStatus
from .models import CustomerDetails, CustomerGrade, Order, Quote, SalesCustomer
from .orders import place_order
from .settings import Settings


def _known_grade(customer_id: uuid.UUID) -> ScalarSelect[str | None]:
    """The customer's newest grade as sales knows it, inside a statement (NULL if none)."""
    return select(CustomerGrade.grade).where(CustomerGrade.customer_id == customer_id).scalar_subquery()


#: A customer's name, region and channel: an edit announces them, as do registration and promotion.
DetailsFact = tuple[uuid.UUID, str, str | None, uuid.UUID | None, datetime]


def _record_details_statement() -> Any:
    stmt = insert(table_of(CustomerDetails))
    current = table_of(CustomerDetails).c
    newer = or_(current.as_of.is_(None), current.as_of < stmt.excluded.as_of)
    return stmt.on_conflict_do_update(
        index_elements=[current.customer_id],
        set_={
            **{
                column: case((newer, stmt.excluded[column]), else_=current[column])
                for column in ("name", "region_code", "channel_id")
            },
            "as_of": func.greatest(current.as_of, stmt.excluded.as_of),
        },
    ).returning(
        current.customer_id, current.name, current.region_code, current.channel_id, current.deactivated_at
    )


#: Built once; its rows come with each call.
_RECORD_DETAILS = _record_details_statement()


async def record_details(session: AsyncSession, facts: Iterable[DetailsFact]) -> dict[uuid.UUID, Row[Any]]:
    """Record `(customer_id, name, region_code, channel_id, as_of)` facts, keeping the newest
    of each customer by the customers service's time (like `ownership.record_owners`); the
    newest known details of each, with its latest known deactivation."""
    newest: dict[uuid.UUID, DetailsFact] = {}
    for fact in facts:
        if fact[0] not in newest or newest[fact[0]][4] < fact[4]:
            newest[fact[0]] = fact
    if not newest:
        return {}
    rows = [
        {
            "customer_id": customer_id,
            "name": name,
            "region_code": region,
            "channel_id": channel,
            "as_of": as_of,
        }
        for customer_id, (_, name, region, channel, as_of) in sorted(newest.items())
    ]
    return {row.customer_id: row for row in await session.execute(_RECORD_DETAILS, rows)}


async def register_customer(session: AsyncSession, event: CustomerRegistered, occurred_at: datetime) -> None:
    """Know a new customer (usually a prospect: quotable, not yet open for ordering)."""
    owner_id = await ownership.record_owner(session, event.customer_id, event.owner_id, occurred_at)
    details = await record_details(
        session, [(event.customer_id, event.name, event.region_code, event.channel_id, occurred_at)]
    )
    known = details[event.customer_id]
    # An edit or a deactivation may have come first: the row starts with what they said.
    registered = CustomerStage(event.lifecycle_stage)
    stage, stage_as_of = domain.stage_after(registered, occurred_at, known.deactivated_at)
    stmt = insert(SalesCustomer).values(
        id=event.customer_id,
        name=known.name,
        lifecycle_stage=stage,
        stage_as_of=stage_as_of,
        owner_id=owner_id,
        region_code=known.region_code,
        channel_id=known.channel_id,
        grade=func.coalesce(_known_grade(event.customer_id), event.grade),
        registered_at=occurred_at,
        opened_at=utc_now() if registered == CustomerStage.TRADITIONAL else None,
    )
    # The promotion may have come first: keep its stage, only learn when it was registered
    # (and the newest details, which may be this registration's).
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SalesCustomer.id],
            set_={
                "registered_at": stmt.excluded.registered_at,
                "name": stmt.excluded.name,
                "region_code": stmt.excluded.region_code,
                "channel_id": stmt.excluded.channel_id,
            },
        )
    )
    if registered == CustomerStage.PROSPECT:
        await performance.record_fact(
            session,
            FactKind.PROSPECT_GAINED,
            event.customer_id,
            owner_id=event.owner_id,
            channel_id=event.channel_id,
            occurred_at=occurred_at,
        )


def _open_customers_statement() -> Any:
    stmt = insert(SalesCustomer)
    # A promotion older than the deactivation (or the promotion) the row holds leaves its stage.
    newer = or_(SalesCustomer.stage_as_of.is_(None), SalesCustomer.stage_as_of < stmt.excluded.stage_as_of)
    return stmt.on_conflict_do_update(
        index_elements=[SalesCustomer.id],
        set_={
            "lifecycle_stage": case(
                (newer, stmt.excluded.lifecycle_stage), else_=SalesCustomer.lifecycle_stage
            ),
            "stage_as_of": func.greatest(SalesCustomer.stage_as_of, stmt.excluded.stage_as_of),
            # The newest known details (`record_details`), not necessarily the promotion's.
            "name": stmt.excluded.name,
            "owner_id": stmt.excluded.owner_id,
            "region_code": stmt.excluded.region_code,
            "channel_id": stmt.excluded.channel_id,
            "promoted_at": func.coalesce(SalesCustomer.promoted_at, stmt.excluded.promoted_at),
            "opened_at": func.coalesce(SalesCustomer.opened_at, stmt.excluded.opened_at),
        },
    ).returning(SalesCustomer)


#: Built once (its rows come with each call), so it is compiled once whatever their number.
_OPEN_CUSTOMERS = _open_customers_statement()


async def open_customers(
    session: AsyncSession,
    promotions: Sequence[tuple[CustomerPromotedToTraditional, Envelope]],
    settings: Settings,
) -> list[Order]:
    """Open traditional customers for ordering, and place the orders their accepted
    quotes were waiting for (one per quote, however often a promotion arrives).

    Set-based (a few statements for all promotions that arrived together): this is
    sales' busiest path. A customer promoted twice in one batch is handled in order.
    """
    orders: list[Order] = []
    for run in distinct_runs(promotions, key=lambda promotion: promotion[0].customer_id):
        orders += await _open_customers(session, run, settings)
    return orders


async def _open_customers(
    session: AsyncSession,
    promotions: Sequence[tuple[CustomerPromotedToTraditional, Envelope]],
    settings: Settings,
) -> list[Order]:
    rows = await _promoted_rows(session, [event for event, _ in promotions])
    # The upsert locks the customers' rows: a quote accepted concurrently waits for this
    # transaction and then sees the customer traditional (or this one sees its quote).
    upsert = _OPEN_CUSTOMERS.execution_options(populate_existing=True)
    customers = (await session.scalars(upsert, rows)).all()
    # A promotion older than the customer's deactivation opens nothing.
    opened = [c for c in customers if c.lifecycle_stage == CustomerStage.TRADITIONAL]
    envelopes = {event.customer_id: envelope for event, envelope in promotions}
    return await _place_waiting_orders(session, opened, envelopes, settings)


async def _promoted_rows(
    session: AsyncSession, promotions: Sequence[CustomerPromotedToTraditional]
) -> list[dict[str, Any]]:
    """The row each promoted customer is upserted with: the newest owner and details sales
    knows, its grade, and the stage the promotion leaves it in."""
    by_customer = {event.customer_id: event for event in promotions}
    ids = sorted(by_customer)
    owners = await ownership.record_owners(
        session, [(event.customer_id, event.owner_id, event.promoted_at) for event in promotions]
    )
    details = await record_details(
        session,
        [(e.customer_id, e.name, e.region_code, e.channel_id, e.promoted_at) for e in promotions],
    )
    known_grades = select(CustomerGrade.customer_id, CustomerGrade.grade).where(
        CustomerGrade.customer_id.in_(ids)
    )
    grades = {row.customer_id: row.grade for row in await session.execute(known_grades)}
    opened_at = utc_now()
    rows = []
    for customer_id in ids:
        event = by_customer[customer_id]
        known = details[customer_id]
        stage, stage_as_of = domain.stage_after(
            CustomerStage.TRADITIONAL, event.promoted_at, known.deactivated_at
        )
        rows.append(
            {
                "id": customer_id,
                "name": known.name,
                "lifecycle_stage": stage,
                "stage_as_of": stage_as_of,
                "owner_id": owners[customer_id],
                "region_code": known.region_code,
                "channel_id": known.channel_id,
                "grade": grades.get(customer_id),
                "promoted_at": event.promoted_at,
                "opened_at": opened_at if stage == CustomerStage.TRADITIONAL else None,
            }
        )
    return rows


async def _place_waiting_orders(
    session: AsyncSession,
    opened: Sequence[SalesCustomer],
    envelopes: Mapping[uuid.UUID, Envelope],
    settings: Settings,
) -> list[Order]:
    """The orders the accepted quotes of customers just opened were waiting for, each
    placed on behalf of the promotion that opened its customer."""
    customers = {customer.id: customer for customer in opened}
    waiting = await session.scalars(
        select(Quote)
        .where(
            Quote.customer_id.in_(list(customers)),
            Quote.status == QuoteStatus.ACCEPTED,
            ~exists().where(Order.quote_id == Quote.id),
        )
        .order_by(Quote.accepted_at, Quote.id)
        .with_for_update()
    )
    orders = []
    for quote in waiting.all():
        envelope = envelopes[quote.customer_id]
        with context.handling(envelope.correlation_id, envelope.event_id):
            orders.append(
                await place_order(session, quote, customers[quote.customer_id], settings, envelope.actor)
            )
    return orders


async def grade_customer(session: AsyncSession, event: CustomerGraded) -> None:
    """Keep the newest grade (sales' priorities), whichever arrives first: grade or customer."""
    stmt = insert(CustomerGrade).values(
        customer_id=event.customer_id, grade=event.grade, score=event.score, graded_at=event.graded_at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CustomerGrade.customer_id],
            set_={
                "grade": stmt.excluded.grade,
                "score": stmt.excluded.score,
                "graded_at": stmt.excluded.graded_at,
            },
            where=CustomerGrade.graded_at < stmt.excluded.graded_at,
        )
    )
    await session.execute(
        update(SalesCustomer)
        .where(SalesCustomer.id == event.customer_id)
        .values(grade=_known_grade(event.customer_id))
    )


async def customer_reassigned(session: AsyncSession, event: CustomerReassigned) -> None:
    """Sales' copy of a customer follows the customer's owner, whichever event came first."""
    owner_id = await ownership.record_owner(
        session, event.customer_id, event.to_owner_id, event.reassigned_at
    )
    await session.execute(
        update(SalesCustomer).where(SalesCustomer.id == event.customer_id).values(owner_id=owner_id)
    )


async def customer_updated(session: AsyncSession, event: CustomerUpdated) -> None:
    """Sales' copy takes the customer's name, region and channel unless it knows newer ones:
    the quotes and orders made from now on carry them, those made before keep theirs. An
    edit of a customer sales does not know yet is kept for its registration or promotion."""
    details = await record_details(
        session, [(event.customer_id, event.name, event.region_code, event.channel_id, event.updated_at)]
    )
    known = details[event.customer_id]
    await session.execute(
        update(SalesCustomer)
        .where(SalesCustomer.id == event.customer_id)
        .values(name=known.name, region_code=known.region_code, channel_id=known.channel_id)
    )


async def customer_deactivated(session: AsyncSession, event: CustomerDeactivated) -> None:
    """An inactive customer gets no new quote; a quote it accepts brings it back through its
    promotion. Kept for a customer sales does not know yet, like an edit."""
    stmt = insert(CustomerDetails).values(customer_id=event.customer_id, deactivated_at=event.deactivated_at)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CustomerDetails.customer_id],
            set_={
                "deactivated_at": func.greatest(CustomerDetails.deactivated_at, stmt.excluded.deactivated_at)
            },
        )
    )
    await session.execute(
        update(SalesCustomer)
        .where(
            SalesCustomer.id == event.customer_id,
            or_(SalesCustomer.stage_as_of.is_(None), SalesCustomer.stage_as_of < event.deactivated_at),
        )
        .values(lifecycle_stage=CustomerStage.INACTIVE, stage_as_of=event.deactivated_at)
    )


async def get_customer(session: AsyncSession, customer_id: uuid.UUID, user: User) -> SalesCustomer:
    """A customer open for ordering: a prospect is not one yet (404 until its promotion arrives)."""
    customer = await session.get(SalesCustomer, customer_id)
    if (
        customer is None
        or customer.lifecycle_stage != CustomerStage.TRADITIONAL
        or not user.can_see(customer.owner_id)
    ):
        raise errors.NotFound("sales customer", customer_id)
    return customer


async def list_customers(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    stage: CustomerStage | None = None,
    q: str | None = None,
) -> tuple[list[SalesCustomer], int]:
    stmt = where_given(
        visible_to(select(SalesCustomer), SalesCustomer.owner_id, user),
        (SalesCustomer.lifecycle_stage, stage),
    )
    if q:
        stmt = stmt.where(SalesCustomer.name.ilike(f"%{escape_like(q)}%", escape="\\"))
    return await fetch_page(session, stmt, page, SalesCustomer.name, SalesCustomer.id)
