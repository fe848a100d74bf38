"""Sales' own copy of the customers, kept from the customers service's events (sales never
reads its database): a prospect is quotable, a traditional customer open for ordering,
an inactive one gets no new quote. Events arrive in any order: the kit's copy of the
customers (`crm_kit.customer_copy`) keeps the newest fact of each part, and sales' record
of a customer takes them from it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerPromotedToTraditional, CustomerRegistered, CustomersMerged, Envelope
from crm_kit import context, customer_copy, errors
from crm_kit.auth import User
from crm_kit.batching import distinct_runs
from crm_kit.customer_copy import Fact
from crm_kit.db import table_of
from crm_kit.handlers import Handlers
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, visible_to
from crm_kit.text import fold

from . import performance
from .common import escape_like, utc_now, where_given
from .domain import CustomerStage, QuoteStatus
from .models import CareActivity, Contract, Opportunity, Order, Quote, SalesCustomer
from .orders import place_order
from .performance_rules import FactKind
from .settings import Settings


def _copied(known: Row[Any]) -> dict[str, Any]:
    """What sales' record of a customer takes from its copy (`crm_kit.customer_copy`): the
    newest of each part that the customers service said, whatever order its events came in."""
    return {
        "name": known.name,
        "name_folded": fold(known.name),
        "lifecycle_stage": known.lifecycle_stage,
        "stage_as_of": known.stage_as_of,
        "owner_id": known.owner_id,
        "region_code": known.region_code,
        "channel_id": known.channel_id,
        "grade": known.grade,
    }


_COPIED = (
    "name",
    "name_folded",
    "lifecycle_stage",
    "stage_as_of",
    "owner_id",
    "region_code",
    "channel_id",
    "grade",
)


async def register_customers(
    session: AsyncSession, registrations: Sequence[tuple[CustomerRegistered, Envelope]]
) -> None:
    """Know new customers (usually prospects: quotable, not yet open for ordering), and count
    each prospect gained for its owner. Set-based: an import registers thousands at once;
    a customer registered twice in one batch is handled in order."""
    for run in distinct_runs(registrations, key=lambda registration: registration[0].customer_id):
        await _register_customers(session, run)


async def _register_customers(
    session: AsyncSession, registrations: Sequence[tuple[CustomerRegistered, Envelope]]
) -> None:
    facts = [Fact.of_registration(event, envelope.occurred_at) for event, envelope in registrations]
    known = await customer_copy.record(session, facts)
    now = utc_now()
    ordered = sorted(registrations, key=lambda registration: registration[0].customer_id)
    rows = [
        {
            "id": event.customer_id,
            **_copied(known[event.customer_id]),
            "registered_at": envelope.occurred_at,
            "opened_at": now if CustomerStage(event.lifecycle_stage) == CustomerStage.TRADITIONAL else None,
        }
        for event, envelope in ordered
    ]
    await session.execute(_REGISTER_CUSTOMERS, rows)
    gained = [
        performance.fact_row(
            FactKind.PROSPECT_GAINED,
            event.customer_id,
            owner_id=event.owner_id,
            channel_id=event.channel_id,
            region_code=event.region_code,
            occurred_at=envelope.occurred_at,
        )
        for event, envelope in ordered
        if CustomerStage(event.lifecycle_stage) == CustomerStage.PROSPECT
    ]
    await performance.record_facts(session, gained)


def _register_customers_statement() -> Any:
    stmt = insert(SalesCustomer)
    # The promotion may have come first: it made the row; learn when it was registered.
    return stmt.on_conflict_do_update(
        index_elements=[SalesCustomer.id],
        set_={"registered_at": stmt.excluded.registered_at, **{c: stmt.excluded[c] for c in _COPIED}},
    )


#: Built once, as `_OPEN_CUSTOMERS` below.
_REGISTER_CUSTOMERS = _register_customers_statement()


def _open_customers_statement() -> Any:
    stmt = insert(SalesCustomer)
    return stmt.on_conflict_do_update(
        index_elements=[SalesCustomer.id],
        set_={
            # The newest of each part (`_copied`), not necessarily the promotion's: a
            # deactivation newer than the promotion leaves the customer inactive.
            **{column: stmt.excluded[column] for column in _COPIED},
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
    known = await customer_copy.record(session, [Fact.of_promotion(event) for event, _ in promotions])
    opened_at = utc_now()
    rows = [
        {
            "id": event.customer_id,
            **_copied(known[event.customer_id]),
            "promoted_at": event.promoted_at,
            "opened_at": opened_at
            if known[event.customer_id].lifecycle_stage == CustomerStage.TRADITIONAL
            else None,
        }
        for event, _ in sorted(promotions, key=lambda promotion: promotion[0].customer_id)
    ]
    # The upsert locks the customers' rows: a quote accepted concurrently waits for this
    # transaction and then sees the customer traditional (or this one sees its quote).
    upsert = _OPEN_CUSTOMERS.execution_options(populate_existing=True)
    customers = (await session.scalars(upsert, rows)).all()
    # A promotion older than the customer's deactivation opens nothing.
    opened = [c for c in customers if c.lifecycle_stage == CustomerStage.TRADITIONAL]
    envelopes = {event.customer_id: envelope for event, envelope in promotions}
    return await _place_waiting_orders(session, opened, envelopes, settings)


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


#: Built once; one row of parameters per customer.
_FOLLOW = (
    update(table_of(SalesCustomer))
    .where(table_of(SalesCustomer).c.id == bindparam("customer_id"))
    .values({column: bindparam(f"new_{column}") for column in _COPIED})
)


async def follow(session: AsyncSession, known: Sequence[Row[Any]]) -> None:
    """Sales' record of each customer takes its copy's newest name, region, channel, owner,
    stage and grade: the quotes and orders made from now on carry them, those made before
    keep theirs. An inactive customer gets no new quote; a quote it accepts brings it back
    through its promotion. A customer sales has no record of yet (an edit that overtook
    its registration) keeps them in the copy until it is registered or promoted."""
    rows = [
        {"customer_id": row.customer_id, **{f"new_{c}": v for c, v in _copied(row).items()}} for row in known
    ]
    if rows:
        await session.execute(_FOLLOW, rows)


#: What sales keeps per customer, moved to the survivor when customers merge.
_FOLLOWS_ITS_CUSTOMER = (Opportunity, Quote, Order, Contract, CareActivity)


async def repoint(session: AsyncSession, event: CustomersMerged) -> None:
    """The merged customer's opportunities, quotes, orders, contracts and care become the
    survivor's, so its pipeline and orders are listed, and counted, under the survivor.
    Performance facts stay as they are: each belongs to who did the work, where, and when.
    Run twice, the second finds nothing left to move."""
    target = await customer_copy.survivor(session, event.customer_id)
    for model in _FOLLOWS_ITS_CUSTOMER:
        await session.execute(
            update(model)
            .where(model.customer_id == event.merged_customer_id)
            .values(customer_id=target)
            .execution_options(synchronize_session=False)
        )


def register(handlers: Handlers) -> None:
    """Edits, hand-overs, deactivations, merges and grades of customers reach the copy and
    sales' record; a merge moves sales' records of the merged customer to the survivor."""
    customer_copy.register(handlers, apply=follow, graded=True, merged=repoint)


async def get_customer(session: AsyncSession, customer_id: uuid.UUID, user: User) -> SalesCustomer:
    """A customer open for ordering: a prospect is not one yet (404 until its promotion arrives).
    A merged customer's id finds the survivor."""
    customer = await session.get(SalesCustomer, await customer_copy.survivor(session, customer_id))
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
        stmt = stmt.where(SalesCustomer.name_folded.like(f"%{escape_like(fold(q))}%", escape="\\"))
    return await fetch_page(session, stmt, page, SalesCustomer.name, SalesCustomer.id)
