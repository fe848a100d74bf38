"""Use cases of sales; each runs in the caller's transaction (opened by api.py or the bus)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, ScalarSelect, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CreditChecked,
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    CustomerUpdated,
    Envelope,
    LeadQualified,
    MalformedEvent,
    OrderPlaced,
    PortfolioReassigned,
    QuoteAccepted,
    QuoteApproved,
    QuoteRejected,
    QuoteSubmittedForApproval,
)
from crm_contracts import OrderLine as OrderLineEvent
from crm_kit import context, outbox, ownership
from crm_kit.auth import User
from crm_kit.batching import distinct_runs
from crm_kit.db import table_of
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, one_visible, visible_to
from crm_kit.text import fold

from . import domain, performance
from .domain import (
    ContractAction,
    ContractStatus,
    CreditStatus,
    FactKind,
    OpportunityStage,
    QuoteAction,
    QuoteStatus,
)
from .models import (
    ApprovalRule,
    AuditEntry,
    Contract,
    CustomerDetails,
    CustomerGrade,
    NumberSequence,
    Opportunity,
    Order,
    OrderLine,
    Product,
    ProductPrice,
    Quote,
    QuoteLine,
    SalesCustomer,
)
from .schemas import (
    ApprovalRulesIn,
    ContractCreate,
    ProductCreate,
    ProductUpdate,
    QuoteCreate,
    QuoteLineIn,
    QuoteUpdate,
    StageMove,
)
from .settings import Settings

log = logging.getLogger(__name__)

QUOTABLE_STAGES = ("prospect", "traditional")


class NotFound(Exception):
    """No such record, or not one the caller may see (HTTP 404)."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} not found")


class Conflict(Exception):
    """The record's state does not allow the operation now (HTTP 409)."""


class Invalid(Exception):
    """The request names something that does not fit (HTTP 422)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _today(settings: Settings) -> date:
    return settings.local_date(_now())


async def _audit(
    session: AsyncSession,
    entity: str,
    entity_id: uuid.UUID,
    action: str,
    actor_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            entity=entity, entity_id=entity_id, action=action, actor_id=actor_id, changes=changes or {}
        )
    )


async def _next_number(session: AsyncSession, kind: str, year: int) -> int:
    """The next number of `kind` in `year`. The counter row stays locked until commit,
    so numbers are handed out without gaps or repeats across replicas."""
    counted = (
        insert(NumberSequence)
        .values(kind=kind, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[NumberSequence.kind, NumberSequence.year],
            set_={"last": NumberSequence.last + 1},
        )
        .returning(NumberSequence.last)
    )
    return int((await session.execute(counted)).scalar_one())


# -- customers -----------------------------------------------------------------------


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
    stage, stage_as_of = domain.stage_after(event.lifecycle_stage, occurred_at, known.deactivated_at)
    traditional = event.lifecycle_stage == "traditional"
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
        opened_at=_now() if traditional else None,
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
    if event.lifecycle_stage == "prospect":
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
    by_customer = {event.customer_id: (event, envelope) for event, envelope in promotions}
    ids = sorted(by_customer)
    owners = await ownership.record_owners(
        session, [(event.customer_id, event.owner_id, event.promoted_at) for event, _ in promotions]
    )
    details = await record_details(
        session,
        [(e.customer_id, e.name, e.region_code, e.channel_id, e.promoted_at) for e, _ in promotions],
    )
    known_grades = select(CustomerGrade.customer_id, CustomerGrade.grade).where(
        CustomerGrade.customer_id.in_(ids)
    )
    grades = {row.customer_id: row.grade for row in await session.execute(known_grades)}
    opened_at = _now()
    rows = []
    for customer_id in ids:
        event, _ = by_customer[customer_id]
        known = details[customer_id]
        stage, stage_as_of = domain.stage_after("traditional", event.promoted_at, known.deactivated_at)
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
                "opened_at": opened_at if stage == "traditional" else None,
            }
        )
    # The upsert locks the customers' rows: a quote accepted concurrently waits for this
    # transaction and then sees the customer traditional (or this one sees its quote).
    upsert = _OPEN_CUSTOMERS.execution_options(populate_existing=True)
    customers = {customer.id: customer for customer in (await session.scalars(upsert, rows)).all()}
    # A promotion older than the customer's deactivation opens nothing.
    opened = [c.id for c in customers.values() if c.lifecycle_stage == "traditional"]
    waiting = await session.scalars(
        select(Quote)
        .where(
            Quote.customer_id.in_(opened),
            Quote.status == QuoteStatus.ACCEPTED,
            ~exists().where(Order.quote_id == Quote.id),
        )
        .order_by(Quote.accepted_at, Quote.id)
        .with_for_update()
    )
    orders = []
    for quote in waiting.all():
        _, envelope = by_customer[quote.customer_id]
        with context.handling(envelope.correlation_id, envelope.event_id):
            orders.append(
                await _place_order(session, quote, customers[quote.customer_id], settings, envelope.actor)
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
        .values(lifecycle_stage="inactive", stage_as_of=event.deactivated_at)
    )


async def get_customer(session: AsyncSession, customer_id: uuid.UUID, user: User) -> SalesCustomer:
    """A customer open for ordering: a prospect is not one yet (404 until its promotion arrives)."""
    customer = await session.get(SalesCustomer, customer_id)
    if customer is None or customer.lifecycle_stage != "traditional" or not user.can_see(customer.owner_id):
        raise NotFound("sales customer", customer_id)
    return customer


async def list_customers(
    session: AsyncSession, user: User, page: PageParams, *, stage: str | None = None, q: str | None = None
) -> tuple[list[SalesCustomer], int]:
    stmt = visible_to(select(SalesCustomer), SalesCustomer.owner_id, user)
    if stage is not None:
        stmt = stmt.where(SalesCustomer.lifecycle_stage == stage)
    if q:
        stmt = stmt.where(SalesCustomer.name.ilike(f"%{_escape_like(q)}%", escape="\\"))
    return await fetch_page(session, stmt, page, SalesCustomer.name, SalesCustomer.id)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- products ------------------------------------------------------------------------


async def create_product(session: AsyncSession, body: ProductCreate, user: User) -> Product:
    if await session.get(Product, body.code) is not None:
        raise Conflict(f"product {body.code} already exists")
    now = _now()
    product = Product(
        code=body.code,
        name=body.name,
        search_text=fold(f"{body.code} {body.name}"),
        product_group=body.product_group,
        unit_price=body.unit_price,
        vat_rate_pct=body.vat_rate_pct,
        active=body.active,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    await session.flush()
    session.add(
        ProductPrice(
            product_code=body.code,
            unit_price=body.unit_price,
            vat_rate_pct=body.vat_rate_pct,
            valid_from=now,
            set_by=user.id,
        )
    )
    return product


async def update_product(session: AsyncSession, code: str, body: ProductUpdate, user: User) -> Product:
    product = await session.get(Product, code.strip().upper(), with_for_update=True)
    if product is None:
        raise NotFound("product", code)
    changes = body.model_dump(exclude_unset=True)
    repriced = any(
        name in changes and changes[name] != getattr(product, name) for name in ("unit_price", "vat_rate_pct")
    )
    for name, value in changes.items():
        setattr(product, name, value)
    product.search_text = fold(f"{product.code} {product.name}")
    product.updated_at = _now()
    if repriced:
        # Quotes copied the price they were made with; the list keeps every price it had.
        session.add(
            ProductPrice(
                product_code=product.code,
                unit_price=product.unit_price,
                vat_rate_pct=product.vat_rate_pct,
                valid_from=product.updated_at,
                set_by=user.id,
            )
        )
    return product


async def get_product(session: AsyncSession, code: str) -> Product:
    product = await session.get(Product, code.strip().upper())
    if product is None:
        raise NotFound("product", code)
    return product


async def list_products(
    session: AsyncSession,
    page: PageParams,
    *,
    group: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> tuple[list[Product], int]:
    stmt = select(Product)
    if group is not None:
        stmt = stmt.where(Product.product_group == group)
    if active is not None:
        stmt = stmt.where(Product.active.is_(active))
    if q:
        stmt = stmt.where(Product.search_text.contains(_escape_like(fold(q)), autoescape=False, escape="\\"))
    return await fetch_page(session, stmt, page, Product.code)


async def product_prices(
    session: AsyncSession, code: str, page: PageParams
) -> tuple[list[ProductPrice], int]:
    product = await get_product(session, code)
    stmt = select(ProductPrice).where(ProductPrice.product_code == product.code)
    return await fetch_page(session, stmt, page, ProductPrice.valid_from.desc(), ProductPrice.id.desc())


# -- opportunities -------------------------------------------------------------------


async def open_opportunity(session: AsyncSession, event: LeadQualified) -> None:
    """Open the opportunity the lead's conversion minted, once."""
    if event.opportunity_id is None:
        return
    await session.execute(
        insert(Opportunity)
        .values(
            id=event.opportunity_id,
            name=event.opportunity_name or event.name,
            customer_id=event.customer_id,
            lead_id=event.lead_id,
            owner_id=event.owner_id,
            expected_amount=event.expected_amount or 0,
            stage=OpportunityStage.QUALIFICATION,
            stage_changed_at=event.qualified_at,
        )
        .on_conflict_do_nothing(index_elements=[Opportunity.id])
    )


async def _opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, user: User, *, lock: bool = False
) -> Opportunity:
    opportunity = await one_visible(
        session, select(Opportunity).where(Opportunity.id == opportunity_id), user, lock=lock
    )
    if opportunity is None:
        raise NotFound("opportunity", opportunity_id)
    return opportunity


async def get_opportunity(session: AsyncSession, opportunity_id: uuid.UUID, user: User) -> Opportunity:
    return await _opportunity(session, opportunity_id, user)


async def list_opportunities(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    stage: OpportunityStage | None = None,
    customer_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> tuple[list[Opportunity], int]:
    stmt = visible_to(select(Opportunity), Opportunity.owner_id, user)
    if stage is not None:
        stmt = stmt.where(Opportunity.stage == stage)
    if customer_id is not None:
        stmt = stmt.where(Opportunity.customer_id == customer_id)
    if owner_id is not None:
        stmt = stmt.where(Opportunity.owner_id == owner_id)
    return await fetch_page(session, stmt, page, Opportunity.created_at.desc(), Opportunity.id)


async def move_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, body: StageMove, user: User
) -> Opportunity:
    opportunity = await _opportunity(session, opportunity_id, user, lock=True)
    current = OpportunityStage(opportunity.stage)
    try:
        domain.stage_move(current, body.stage, body.lost_reason)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    await _set_stage(session, opportunity, body.stage, user.id, lost_reason=body.lost_reason)
    return opportunity


async def _set_stage(
    session: AsyncSession,
    opportunity: Opportunity,
    stage: OpportunityStage,
    actor_id: uuid.UUID | None,
    *,
    lost_reason: str | None = None,
    won_quote_id: uuid.UUID | None = None,
) -> None:
    before = opportunity.stage
    now = _now()
    opportunity.stage = stage
    opportunity.stage_changed_at = now
    opportunity.lost_reason = lost_reason
    if won_quote_id is not None:
        opportunity.won_quote_id = won_quote_id
    if stage in domain.CLOSED_STAGES:
        opportunity.closed_at = now
    changes: dict[str, Any] = {"stage": [before, stage.value]}
    if lost_reason:
        changes["lost_reason"] = lost_reason
    if won_quote_id:
        changes["won_quote_id"] = str(won_quote_id)
    await _audit(session, "opportunity", opportunity.id, "stage_changed", actor_id, changes)


async def pipeline(
    session: AsyncSession, user: User, owner_id: uuid.UUID | None = None
) -> list[tuple[OpportunityStage, int, int]]:
    """(stage, count, expected amount) for every stage, zero where there is none."""
    if not user.sees_all:
        owner_id = user.id
    stmt = select(
        Opportunity.stage, func.count(), func.coalesce(func.sum(Opportunity.expected_amount), 0)
    ).group_by(Opportunity.stage)
    if owner_id is not None:
        stmt = stmt.where(Opportunity.owner_id == owner_id)
    found = {row[0]: (int(row[1]), int(row[2])) for row in await session.execute(stmt)}
    return [(stage, *found.get(stage.value, (0, 0))) for stage in OpportunityStage]


# -- approval rules ------------------------------------------------------------------


async def approval_rules(session: AsyncSession) -> ApprovalRule:
    rule = await session.get(ApprovalRule, 1)
    if rule is None:  # the migration seeds it; this keeps a hand-emptied table working
        rule = ApprovalRule(id=1, mode=domain.ApprovalMode.ALL)
        session.add(rule)
        await session.flush()
    return rule


def _rules(rule: ApprovalRule) -> domain.ApprovalRules:
    return domain.ApprovalRules(
        mode=domain.ApprovalMode(rule.mode), min_total=rule.min_total, max_discount_pct=rule.max_discount_pct
    )


def _rules_record(rule: ApprovalRule) -> dict[str, Any]:
    discount = rule.max_discount_pct
    return {
        "mode": rule.mode,
        "min_total": rule.min_total,
        "max_discount_pct": None if discount is None else str(discount),
    }


async def set_approval_rules(session: AsyncSession, body: ApprovalRulesIn, user: User) -> ApprovalRule:
    wanted = domain.ApprovalRules(body.mode, body.min_total, body.max_discount_pct)
    if problem := wanted.problem():
        raise Invalid(problem)
    rule = await approval_rules(session)
    before = _rules_record(rule)
    rule.mode = body.mode
    rule.min_total = body.min_total
    rule.max_discount_pct = body.max_discount_pct
    rule.updated_by = user.id
    rule.updated_at = _now()
    changes = {"before": before, "after": _rules_record(rule)}
    await _audit(session, "approval_rules", uuid.UUID(int=1), "changed", user.id, changes)
    return rule


# -- quotes: making and editing --------------------------------------------------------


async def _quotable_customer(session: AsyncSession, customer_id: uuid.UUID, user: User) -> SalesCustomer:
    customer = await session.get(SalesCustomer, customer_id)
    if customer is not None and customer.lifecycle_stage == "inactive" and user.can_see(customer.owner_id):
        raise Invalid(f"customer {customer_id} is inactive: no new quote until it is promoted again")
    if (
        customer is None
        or customer.lifecycle_stage not in QUOTABLE_STAGES
        or not user.can_see(customer.owner_id)
    ):
        raise Invalid(
            f"customer {customer_id} is not known to sales as a prospect or traditional customer of yours"
        )
    return customer


async def _quotable_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, customer_id: uuid.UUID, user: User
) -> Opportunity:
    opportunity = await session.get(Opportunity, opportunity_id)
    if opportunity is None or not user.can_see(opportunity.owner_id):
        raise Invalid(f"opportunity {opportunity_id} is not known to sales as one of yours")
    if opportunity.customer_id != customer_id:
        raise Invalid(f"opportunity {opportunity_id} belongs to another customer")
    if opportunity.stage in domain.CLOSED_STAGES:
        raise Invalid(f"opportunity {opportunity_id} is {opportunity.stage}")
    return opportunity


async def _priced_lines(session: AsyncSession, wanted: Sequence[QuoteLineIn]) -> list[QuoteLine]:
    """Quote lines with their amounts; a line without a price takes the product's current one."""
    codes = {line.product_code for line in wanted}
    products = {p.code: p for p in await session.scalars(select(Product).where(Product.code.in_(codes)))}
    lines = []
    for position, line in enumerate(wanted, start=1):
        product = products.get(line.product_code)
        if product is None:
            raise Invalid(f"line {position}: no product {line.product_code}")
        if not product.active:
            raise Invalid(f"line {position}: product {line.product_code} is not sold any more (inactive)")
        unit_price = product.unit_price if line.unit_price is None else line.unit_price
        amounts = domain.line_amounts(line.quantity, unit_price, line.discount_pct, product.vat_rate_pct)
        lines.append(
            QuoteLine(
                position=position,
                product_code=product.code,
                product_name=product.name,
                product_group=product.product_group,
                quantity=line.quantity,
                unit_price=unit_price,
                discount_pct=line.discount_pct,
                vat_rate_pct=product.vat_rate_pct,
                gross_amount=amounts.gross,
                discount_amount=amounts.discount,
                net_amount=amounts.net,
                vat_amount=amounts.vat,
                total=amounts.total,
            )
        )
    return lines


def _set_lines(quote: Quote, lines: list[QuoteLine]) -> None:
    quote.lines = lines
    totals = domain.totals(
        domain.LineAmounts(
            gross=line.gross_amount, discount=line.discount_amount, net=line.net_amount, vat=line.vat_amount
        )
        for line in lines
    )
    quote.net_total, quote.vat_total, quote.total = totals.net_total, totals.vat_total, totals.total
    quote.max_discount_pct = domain.max_discount([line.discount_pct for line in lines])


def _check_validity(valid_until: date, settings: Settings) -> None:
    if domain.is_past_validity(valid_until, _today(settings)):
        raise Invalid(f"valid_until {valid_until} is in the past")


async def _new_quote(
    session: AsyncSession,
    settings: Settings,
    *,
    customer: SalesCustomer,
    owner_id: uuid.UUID,
    created_by: uuid.UUID,
    opportunity_id: uuid.UUID | None,
    valid_until: date | None,
    note: str | None,
    lines: list[QuoteLine],
    copied_from_id: uuid.UUID | None = None,
) -> Quote:
    today = _today(settings)
    now = _now()
    quote = Quote(
        id=uuid.uuid4(),
        number=domain.QUOTE_NUMBER.render(today.year, await _next_number(session, "quote", today.year)),
        customer_id=customer.id,
        customer_name=customer.name,
        opportunity_id=opportunity_id,
        owner_id=owner_id,
        status=QuoteStatus.DRAFT,
        valid_until=valid_until or today + timedelta(days=settings.quote_validity_days),
        note=note,
        currency=domain.CURRENCY,
        submission=0,
        copied_from_id=copied_from_id,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    _set_lines(quote, lines)
    session.add(quote)
    await session.flush()
    changes: dict[str, Any] = {"number": quote.number, "total": quote.total}
    if copied_from_id:
        changes["copied_from_id"] = str(copied_from_id)
    await _audit(session, "quote", quote.id, "copied" if copied_from_id else "created", created_by, changes)
    return quote


async def create_quote(session: AsyncSession, body: QuoteCreate, user: User, settings: Settings) -> Quote:
    """A draft quote owned by the caller, priced from the price list unless a line says otherwise."""
    customer = await _quotable_customer(session, body.customer_id, user)
    if body.opportunity_id is not None:
        await _quotable_opportunity(session, body.opportunity_id, body.customer_id, user)
    if body.valid_until is not None:
        _check_validity(body.valid_until, settings)
    return await _new_quote(
        session,
        settings,
        customer=customer,
        owner_id=user.id,
        created_by=user.id,
        opportunity_id=body.opportunity_id,
        valid_until=body.valid_until,
        note=body.note,
        lines=await _priced_lines(session, body.lines),
    )


async def _quote(session: AsyncSession, quote_id: uuid.UUID, user: User, *, lock: bool = False) -> Quote:
    stmt = select(Quote).where(Quote.id == quote_id).execution_options(populate_existing=True)
    quote = await one_visible(session, stmt, user, lock=lock)
    if quote is None:
        raise NotFound("quote", quote_id)
    return quote


def _transition(quote: Quote, action: QuoteAction) -> QuoteStatus:
    return domain.quote_transition(QuoteStatus(quote.status), action)


def _clear_approval(quote: Quote) -> None:
    quote.needs_manager = None
    quote.approval_mode = None
    quote.approved_by = None
    quote.approved_at = None
    quote.override_reason = None
    quote.credit_status = None
    quote.credit_exposure = None
    quote.credit_open_receivables = None
    quote.credit_limit = None
    quote.credit_checked_at = None


async def edit_quote(
    session: AsyncSession, quote_id: uuid.UUID, body: QuoteUpdate, user: User, settings: Settings
) -> Quote:
    """Change lines, validity or note. An edit of a submitted, approved or rejected quote
    sends it back to draft and clears its approval and credit check."""
    quote = await _quote(session, quote_id, user, lock=True)
    before = QuoteStatus(quote.status)
    quote.status = _transition(quote, QuoteAction.EDIT)
    changes: dict[str, Any] = {}
    if body.lines is not None:
        old_total = quote.total
        _set_lines(quote, await _priced_lines(session, body.lines))
        changes["total"] = [old_total, quote.total]
    if body.valid_until is not None:
        _check_validity(body.valid_until, settings)
        changes["valid_until"] = [str(quote.valid_until), str(body.valid_until)]
        quote.valid_until = body.valid_until
    if "note" in body.model_fields_set:
        changes["note"] = [quote.note, body.note]
        quote.note = body.note
    if before != QuoteStatus.DRAFT:
        _clear_approval(quote)
        changes["status"] = [before.value, quote.status]
    quote.updated_at = _now()
    await _audit(session, "quote", quote.id, "edited", user.id, changes)
    return quote


async def copy_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings) -> Quote:
    """A new draft with the same customer and lines: approval is never copied."""
    source = await _quote(session, quote_id, user)
    customer = await _quotable_customer(session, source.customer_id, user)
    opportunity_id = source.opportunity_id
    if opportunity_id is not None:
        opportunity = await session.get(Opportunity, opportunity_id)
        if opportunity is None or opportunity.stage in domain.CLOSED_STAGES:
            opportunity_id = None
    lines = [
        QuoteLine(
            position=line.position,
            product_code=line.product_code,
            product_name=line.product_name,
            product_group=line.product_group,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_pct=line.discount_pct,
            vat_rate_pct=line.vat_rate_pct,
            gross_amount=line.gross_amount,
            discount_amount=line.discount_amount,
            net_amount=line.net_amount,
            vat_amount=line.vat_amount,
            total=line.total,
        )
        for line in source.lines
    ]
    return await _new_quote(
        session,
        settings,
        customer=customer,
        owner_id=source.owner_id,
        created_by=user.id,
        opportunity_id=opportunity_id,
        valid_until=None,
        note=source.note,
        lines=lines,
        copied_from_id=source.id,
    )


async def get_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings) -> Quote:
    await expire_due(session, settings, quote_id=quote_id)
    return await _quote(session, quote_id, user)


async def list_quotes(
    session: AsyncSession,
    user: User,
    page: PageParams,
    settings: Settings,
    *,
    status: QuoteStatus | None = None,
    customer_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> tuple[list[Quote], int]:
    """Quotes the caller may see; `status=pending_approval` is the managers' queue, oldest first."""
    await expire_due(session, settings)
    stmt = visible_to(select(Quote), Quote.owner_id, user)
    if status is not None:
        stmt = stmt.where(Quote.status == status)
    if customer_id is not None:
        stmt = stmt.where(Quote.customer_id == customer_id)
    if opportunity_id is not None:
        stmt = stmt.where(Quote.opportunity_id == opportunity_id)
    if owner_id is not None:
        stmt = stmt.where(Quote.owner_id == owner_id)
    order = (
        (Quote.submitted_at, Quote.id)
        if status == QuoteStatus.PENDING_APPROVAL
        else (Quote.created_at.desc(), Quote.id)
    )
    return await fetch_page(session, stmt, page, *order)


async def quote_history(
    session: AsyncSession, quote_id: uuid.UUID, user: User, page: PageParams
) -> tuple[list[AuditEntry], int]:
    quote = await _quote(session, quote_id, user)
    stmt = select(AuditEntry).where(AuditEntry.entity == "quote", AuditEntry.entity_id == quote.id)
    return await fetch_page(session, stmt, page, AuditEntry.at, AuditEntry.id)


async def expire_due(session: AsyncSession, settings: Settings, *, quote_id: uuid.UUID | None = None) -> int:
    """Sent quotes past their validity become expired; returns how many did."""
    today = _today(settings)
    stmt = (
        update(Quote)
        .where(Quote.status == QuoteStatus.SENT, Quote.valid_until < today)
        .values(status=QuoteStatus.EXPIRED, expired_at=_now(), updated_at=_now())
        .returning(Quote.id, Quote.valid_until)
        .execution_options(synchronize_session=False)
    )
    if quote_id is not None:
        stmt = stmt.where(Quote.id == quote_id)
    expired = (await session.execute(stmt)).all()
    for row in expired:
        changes = {"status": ["sent", "expired"], "valid_until": str(row.valid_until)}
        await _audit(session, "quote", row.id, "expired", None, changes)
    return len(expired)


# -- quotes: approval ------------------------------------------------------------------


async def submit_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings) -> Quote:
    """Ask for approval: accounting checks credit (QuoteSubmittedForApproval) and, when the
    rules need one, a manager decides; otherwise a passed check approves it."""
    quote = await _quote(session, quote_id, user, lock=True)
    status = _transition(quote, QuoteAction.SUBMIT)
    if domain.is_past_validity(quote.valid_until, _today(settings)):
        raise Conflict(f"quote {quote.number} was valid until {quote.valid_until}: edit valid_until first")
    rules = _rules(await approval_rules(session))
    now = _now()
    _clear_approval(quote)
    quote.status = status
    quote.submission += 1
    quote.submitted_at = now
    quote.updated_at = now
    quote.needs_manager = rules.needs_manager(quote.total, quote.max_discount_pct)
    quote.credit_status = CreditStatus.PENDING
    await outbox.emit(
        session,
        QuoteSubmittedForApproval(
            quote_id=quote.id,
            quote_number=quote.number,
            submission=quote.submission,
            customer_id=quote.customer_id,
            customer_name=quote.customer_name,
            owner_id=quote.owner_id,
            total=quote.total,
            currency=quote.currency,
            submitted_at=now,
            needs_manager=bool(quote.needs_manager),
        ),
        actor=user.id,
    )
    changes = {
        "status": ["draft", status.value],
        "submission": quote.submission,
        "needs_manager": quote.needs_manager,
    }
    await _audit(session, "quote", quote.id, "submitted", user.id, changes)
    return quote


async def record_credit_check(session: AsyncSession, event: CreditChecked) -> None:
    """Put accounting's answer on the quote, if it answers the quote's current submission;
    a passed check approves a quote the rules let through without a manager."""
    quote = (
        await session.execute(select(Quote).where(Quote.id == event.quote_id).with_for_update())
    ).scalar_one_or_none()
    if quote is None:
        raise MalformedEvent(f"CreditChecked for quote {event.quote_id}, which sales never made")
    if event.submission != quote.submission or quote.credit_status != CreditStatus.PENDING:
        # An answer for a submission the quote has since left (edited, resubmitted): stale.
        log.info(
            "credit check for %s submission %d ignored: the quote is at submission %d (%s)",
            quote.number,
            event.submission,
            quote.submission,
            quote.status,
        )
        return
    credit = CreditStatus.PASSED if event.passed else CreditStatus.FAILED
    quote.credit_status = credit
    quote.credit_exposure = event.exposure
    quote.credit_open_receivables = event.open_receivables
    quote.credit_limit = event.credit_limit
    quote.credit_checked_at = event.checked_at
    quote.updated_at = _now()
    answer = {"credit_status": credit.value, "exposure": event.exposure, "credit_limit": event.credit_limit}
    await _audit(session, "quote", quote.id, "credit_checked", None, answer)
    if quote.status == QuoteStatus.PENDING_APPROVAL and domain.approves_automatically(
        bool(quote.needs_manager), credit
    ):
        quote.status = _transition(quote, QuoteAction.APPROVE)
        quote.approval_mode = "automatic"
        quote.approved_by = None
        quote.approved_at = _now()
        await outbox.emit(
            session,
            QuoteApproved(
                quote_id=quote.id,
                quote_number=quote.number,
                customer_id=quote.customer_id,
                owner_id=quote.owner_id,
                automatic=True,
                total=quote.total,
                currency=quote.currency,
                approved_at=quote.approved_at,
            ),
        )
        automatic = {"status": ["pending_approval", "approved"], "mode": "automatic"}
        await _audit(session, "quote", quote.id, "approved", None, automatic)


async def approve_quote(
    session: AsyncSession, quote_id: uuid.UUID, override_reason: str | None, user: User
) -> Quote:
    quote = await _quote(session, quote_id, user, lock=True)
    status = _transition(quote, QuoteAction.APPROVE)
    credit = CreditStatus(quote.credit_status) if quote.credit_status else None
    if refusal := domain.approval_refusal(credit, override_reason):
        raise Conflict(refusal)
    now = _now()
    quote.status = status
    quote.approval_mode = "manager"
    quote.approved_by = user.id
    quote.approved_at = now
    quote.override_reason = override_reason if credit == CreditStatus.FAILED else None
    quote.updated_at = now
    await outbox.emit(
        session,
        QuoteApproved(
            quote_id=quote.id,
            quote_number=quote.number,
            customer_id=quote.customer_id,
            owner_id=quote.owner_id,
            approved_by=user.id,
            total=quote.total,
            currency=quote.currency,
            override_reason=quote.override_reason,
            approved_at=now,
        ),
        actor=user.id,
    )
    changes: dict[str, Any] = {"status": ["pending_approval", "approved"], "mode": "manager"}
    if quote.override_reason:
        changes["override_reason"] = quote.override_reason
    await _audit(session, "quote", quote.id, "approved", user.id, changes)
    return quote


async def reject_quote(session: AsyncSession, quote_id: uuid.UUID, reason: str, user: User) -> Quote:
    quote = await _quote(session, quote_id, user, lock=True)
    quote.status = _transition(quote, QuoteAction.REJECT)
    now = _now()
    quote.rejected_by = user.id
    quote.rejected_at = now
    quote.rejection_reason = reason
    quote.updated_at = now
    await outbox.emit(
        session,
        QuoteRejected(
            quote_id=quote.id,
            quote_number=quote.number,
            customer_id=quote.customer_id,
            owner_id=quote.owner_id,
            rejected_by=user.id,
            reason=reason,
            rejected_at=now,
        ),
        actor=user.id,
    )
    changes = {"status": ["pending_approval", "rejected"], "reason": reason}
    await _audit(session, "quote", quote.id, "rejected", user.id, changes)
    return quote


# -- quotes: with the customer ----------------------------------------------------------


async def send_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings) -> Quote:
    quote = await _quote(session, quote_id, user, lock=True)
    status = _transition(quote, QuoteAction.SEND)
    if domain.is_past_validity(quote.valid_until, _today(settings)):
        raise Conflict(
            f"quote {quote.number} was valid until {quote.valid_until}: "
            "edit valid_until (it then needs approval again)"
        )
    now = _now()
    quote.status = status
    quote.sent_at = now
    quote.updated_at = now
    customer = await session.get(SalesCustomer, quote.customer_id)
    await performance.record_fact(
        session,
        FactKind.QUOTE_SENT,
        quote.id,
        owner_id=quote.owner_id,
        channel_id=customer.channel_id if customer else None,
        occurred_at=now,
        amount=quote.total,
    )
    await _audit(session, "quote", quote.id, "sent", user.id, {"status": ["approved", "sent"]})
    return quote


async def _expire_if_due(session: AsyncSession, quote: Quote, settings: Settings) -> bool:
    if quote.status == QuoteStatus.SENT and domain.is_past_validity(quote.valid_until, _today(settings)):
        return await expire_due(session, settings, quote_id=quote.id) > 0
    return False


async def accept_quote(
    session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings
) -> tuple[Quote, bool]:
    """The customer accepted: QuoteAccepted, the opportunity is won, and the order is placed
    now if the customer is traditional (else when its promotion arrives).

    Returns (quote, expired): a quote past its validity becomes expired instead, and the
    caller answers 409 after committing that."""
    found = await _quote(session, quote_id, user)
    # Lock the customer before the quote, in the same order as the promotion handler,
    # so the two never deadlock and exactly one of them places the order.
    customer = await session.get(
        SalesCustomer, found.customer_id, with_for_update=True, populate_existing=True
    )
    quote = await _quote(session, quote_id, user, lock=True)
    if await _expire_if_due(session, quote, settings):
        await session.refresh(quote)
        return quote, True
    quote.status = _transition(quote, QuoteAction.ACCEPT)
    now = _now()
    quote.accepted_at = now
    quote.updated_at = now
    await outbox.emit(
        session,
        QuoteAccepted(
            quote_id=quote.id,
            quote_number=quote.number,
            customer_id=quote.customer_id,
            opportunity_id=quote.opportunity_id,
            owner_id=quote.owner_id,
            total=quote.total,
            currency=quote.currency,
            accepted_at=now,
        ),
        actor=user.id,
    )
    await performance.record_fact(
        session,
        FactKind.QUOTE_ACCEPTED,
        quote.id,
        owner_id=quote.owner_id,
        channel_id=customer.channel_id if customer else None,
        occurred_at=now,
        amount=quote.total,
    )
    await _audit(session, "quote", quote.id, "accepted", user.id, {"status": ["sent", "accepted"]})
    if quote.opportunity_id is not None:
        opportunity = await session.get(Opportunity, quote.opportunity_id, with_for_update=True)
        if opportunity is not None and opportunity.stage != OpportunityStage.WON:
            await _set_stage(session, opportunity, OpportunityStage.WON, user.id, won_quote_id=quote.id)
    if customer is not None and customer.lifecycle_stage == "traditional":
        await _place_order(session, quote, customer, settings, user.id)
    return quote, False


async def decline_quote(
    session: AsyncSession, quote_id: uuid.UUID, reason: str | None, user: User, settings: Settings
) -> tuple[Quote, bool]:
    """Returns (quote, expired) like `accept_quote`."""
    quote = await _quote(session, quote_id, user, lock=True)
    if await _expire_if_due(session, quote, settings):
        await session.refresh(quote)
        return quote, True
    quote.status = _transition(quote, QuoteAction.DECLINE)
    now = _now()
    quote.declined_at = now
    quote.decline_reason = reason
    quote.updated_at = now
    changes = {"status": ["sent", "declined"], "reason": reason}
    await _audit(session, "quote", quote.id, "declined", user.id, changes)
    return quote, False


# -- orders --------------------------------------------------------------------------


async def _place_order(
    session: AsyncSession, quote: Quote, customer: SalesCustomer, settings: Settings, actor: uuid.UUID | None
) -> Order:
    """The order of an accepted quote, once: `orders.quote_id` is unique."""
    existing = await session.scalar(select(Order).where(Order.quote_id == quote.id))
    if existing is not None:
        return existing
    now = _now()
    today = settings.local_date(now)
    order = Order(
        id=uuid.uuid4(),
        number=domain.ORDER_NUMBER.render(today.year, await _next_number(session, "order", today.year)),
        quote_id=quote.id,
        customer_id=customer.id,
        customer_name=customer.name,
        opportunity_id=quote.opportunity_id,
        owner_id=quote.owner_id,
        region_code=customer.region_code,
        channel_id=customer.channel_id,
        currency=quote.currency,
        net_total=quote.net_total,
        vat_total=quote.vat_total,
        total=quote.total,
        status="placed",
        needs_contract=domain.needs_contract(quote.total, settings.contract_threshold),
        payment_terms_days=settings.payment_terms_days,
        order_date=today,
        placed_at=now,
    )
    session.add(order)
    await session.flush()
    lines = [
        OrderLine(
            order_id=order.id,
            position=line.position,
            product_code=line.product_code,
            product_name=line.product_name,
            product_group=line.product_group,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_pct=line.discount_pct,
            vat_rate_pct=line.vat_rate_pct,
            net_amount=line.net_amount,
            vat_amount=line.vat_amount,
            total=line.total,
        )
        for line in quote.lines
    ]
    session.add_all(lines)
    await session.flush()
    await session.refresh(order, ["lines"])
    await outbox.emit(
        session,
        OrderPlaced(
            order_id=order.id,
            order_number=order.number,
            quote_id=quote.id,
            customer_id=customer.id,
            owner_id=order.owner_id,
            region_code=order.region_code,
            channel_id=order.channel_id,
            lines=[
                OrderLineEvent(
                    product_code=line.product_code,
                    product_name=line.product_name,
                    product_group=line.product_group,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount_pct=float(line.discount_pct),
                    vat_rate_pct=float(line.vat_rate_pct),
                    net_amount=line.net_amount,
                    vat_amount=line.vat_amount,
                )
                for line in lines
            ],
            net_total=order.net_total,
            vat_total=order.vat_total,
            total=order.total,
            currency=order.currency,
            payment_terms_days=order.payment_terms_days,
            placed_at=now,
            order_date=today,
        ),
        actor=actor,
    )
    await performance.record_fact(
        session,
        FactKind.ORDER_PLACED,
        order.id,
        owner_id=order.owner_id,
        channel_id=order.channel_id,
        occurred_at=now,
        amount=order.net_total,
    )
    changes = {"number": order.number, "quote_id": str(quote.id)}
    await _audit(session, "order", order.id, "placed", actor, changes)
    return order


async def get_order(session: AsyncSession, order_id: uuid.UUID, user: User) -> Order:
    order = await session.get(Order, order_id)
    if order is None or not user.can_see(order.owner_id):
        raise NotFound("order", order_id)
    return order


async def list_orders(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    customer_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
) -> tuple[list[Order], int]:
    stmt = visible_to(select(Order), Order.owner_id, user)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    if quote_id is not None:
        stmt = stmt.where(Order.quote_id == quote_id)
    return await fetch_page(session, stmt, page, Order.placed_at.desc(), Order.id)


# -- contracts -----------------------------------------------------------------------


async def create_contract(
    session: AsyncSession, order_id: uuid.UUID, body: ContractCreate, user: User, settings: Settings
) -> Contract:
    order = await session.get(Order, order_id, with_for_update=True)
    if order is None or not user.can_see(order.owner_id):
        raise NotFound("order", order_id)
    if not order.needs_contract:
        raise Conflict(
            f"order {order.number} needs no contract (its total is below {settings.contract_threshold} dong)"
        )
    live = await session.scalar(
        select(Contract).where(Contract.order_id == order.id, Contract.status != ContractStatus.TERMINATED)
    )
    if live is not None:
        raise Conflict(f"order {order.number} already has contract {live.number} ({live.status})")
    today = _today(settings)
    contract = Contract(
        id=uuid.uuid4(),
        number=domain.CONTRACT_NUMBER.render(today.year, await _next_number(session, "contract", today.year)),
        order_id=order.id,
        customer_id=order.customer_id,
        owner_id=order.owner_id,
        status=ContractStatus.DRAFT,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        terms=body.terms,
        created_by=user.id,
        created_at=_now(),
    )
    session.add(contract)
    await session.flush()
    await _audit(session, "contract", contract.id, "created", user.id, {"number": contract.number})
    return contract


async def _contract(
    session: AsyncSession, contract_id: uuid.UUID, user: User, *, lock: bool = False
) -> Contract:
    contract = await session.get(Contract, contract_id, with_for_update=lock or None)
    if contract is None or not user.can_see(contract.owner_id):
        raise NotFound("contract", contract_id)
    return contract


async def get_contract(session: AsyncSession, contract_id: uuid.UUID, user: User) -> Contract:
    return await _contract(session, contract_id, user)


async def list_contracts(
    session: AsyncSession, user: User, page: PageParams, *, order_id: uuid.UUID | None = None
) -> tuple[list[Contract], int]:
    stmt = visible_to(select(Contract), Contract.owner_id, user)
    if order_id is not None:
        stmt = stmt.where(Contract.order_id == order_id)
    return await fetch_page(session, stmt, page, Contract.created_at.desc(), Contract.id)


async def change_contract(
    session: AsyncSession,
    contract_id: uuid.UUID,
    action: ContractAction,
    user: User,
    *,
    reason: str | None = None,
) -> Contract:
    contract = await _contract(session, contract_id, user, lock=True)
    before = contract.status
    contract.status = domain.contract_transition(ContractStatus(contract.status), action)
    now = _now()
    if action == ContractAction.SIGN:
        contract.signed_at = now
    elif action == ContractAction.COMPLETE:
        contract.completed_at = now
    else:
        contract.terminated_at = now
        contract.termination_reason = reason
    changes: dict[str, Any] = {"status": [before, contract.status]}
    if reason:
        changes["reason"] = reason
    await _audit(session, "contract", contract.id, action.value, user.id, changes)
    return contract


# -- offboarding ---------------------------------------------------------------------


async def reassign_portfolio(
    session: AsyncSession, event: PortfolioReassigned, actor: uuid.UUID | None
) -> dict[str, int]:
    """Hand the leaving person's open opportunities and open quotes to the new owner,
    in one transaction, auditing every move. Customers follow CustomerReassigned."""
    moved_opportunities = (
        (
            await session.execute(
                update(Opportunity)
                .where(
                    Opportunity.owner_id == event.from_user_id,
                    Opportunity.stage.not_in([s.value for s in domain.CLOSED_STAGES]),
                )
                .values(owner_id=event.to_user_id)
                .returning(Opportunity.id)
                .execution_options(synchronize_session=False)
            )
        )
        .scalars()
        .all()
    )
    moved_quotes = (
        (
            await session.execute(
                update(Quote)
                .where(
                    Quote.owner_id == event.from_user_id,
                    Quote.status.in_([s.value for s in domain.OPEN_QUOTE_STATUSES]),
                )
                .values(owner_id=event.to_user_id, updated_at=_now())
                .returning(Quote.id)
                .execution_options(synchronize_session=False)
            )
        )
        .scalars()
        .all()
    )
    change = {"owner_id": [str(event.from_user_id), str(event.to_user_id)]}
    session.add_all(
        AuditEntry(
            entity=entity,
            entity_id=entity_id,
            action="reassigned",
            actor_id=actor,
            changes=change,
            at=event.reassigned_at,
        )
        for entity, ids in (("opportunity", moved_opportunities), ("quote", moved_quotes))
        for entity_id in ids
    )
    log.info(
        "portfolio of %s handed to %s: %d opportunities, %d quotes",
        event.from_user_id,
        event.to_user_id,
        len(moved_opportunities),
        len(moved_quotes),
    )
    return {"opportunities": len(moved_opportunities), "open_quotes": len(moved_quotes)}


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """What sales still holds for a member of staff: zero everywhere after a hand-over."""
    customers = await session.scalar(select(func.count()).where(SalesCustomer.owner_id == user_id))
    opportunities = await session.scalar(
        select(func.count()).where(
            Opportunity.owner_id == user_id, Opportunity.stage.not_in([s.value for s in domain.CLOSED_STAGES])
        )
    )
    quotes = await session.scalar(
        select(func.count()).where(
            Quote.owner_id == user_id, Quote.status.in_([s.value for s in domain.OPEN_QUOTE_STATUSES])
        )
    )
    return {
        "customers": int(customers or 0),
        "opportunities": int(opportunities or 0),
        "open_quotes": int(quotes or 0),
    }
