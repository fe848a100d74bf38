"""HTTP routes of sales: parse, authorize, call the service layer, shape the response.

Who may do what:
- read quotes, orders and contracts: every role; a salesperson only their own (others' are 404);
- make and change quotes, opportunities, contracts: salesperson (their own), sales_manager, admin;
- approve or reject a quote, change products or approval rules, expire due quotes:
  sales_manager and admin;
- performance: sales_manager and admin everyone's, a salesperson their own row.
Errors raised by the service layer become 404/409/422 in `app.py`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from crm_kit.auth import CurrentUser, Role, require_roles
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep, RuntimeDep

from . import domain, performance, service
from .domain import ContractAction, OpportunityStage, QuoteStatus
from .models import Quote
from .schemas import (
    ApprovalRulesIn,
    ApprovalRulesOut,
    ApproveIn,
    AuditOut,
    ContractCreate,
    ContractOut,
    DeclineIn,
    ExpiredOut,
    OpportunityOut,
    OrderOut,
    PerformanceReport,
    PerformanceRow,
    Pipeline,
    PipelineStage,
    ProductCreate,
    ProductOut,
    ProductPriceOut,
    ProductUpdate,
    QuoteCreate,
    QuoteOut,
    QuoteUpdate,
    RejectIn,
    SalesCustomerOut,
    StageMove,
    TerminateIn,
)
from .settings import Settings

SELLERS = require_roles(Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)
MANAGERS = require_roles(Role.SALES_MANAGER, Role.ADMIN)


async def get_settings(runtime: RuntimeDep) -> Settings:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
Search = Annotated[str | None, Query(max_length=100)]


# -- customers -----------------------------------------------------------------------

customers = APIRouter(prefix="/api/sales/customers", tags=["customers"])


@customers.get("")
async def list_customers(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    stage: Annotated[str | None, Query(pattern="^(prospect|traditional|inactive)$")] = None,
    q: Search = None,
) -> Page[SalesCustomerOut]:
    """Customers sales knows (prospects, traditional and inactive ones) that the caller may see;
    an inactive customer gets no new quote."""
    async with db.transaction() as session:
        rows, total = await service.list_customers(session, user, paging, stage=stage, q=q)
        return Page(items=[SalesCustomerOut.model_validate(c) for c in rows], total=total)


@customers.get("/{customer_id}")
async def get_customer(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> SalesCustomerOut:
    """Exists once sales has received the customer's promotion to traditional."""
    async with db.transaction() as session:
        return SalesCustomerOut.model_validate(await service.get_customer(session, customer_id, user))


# -- products ------------------------------------------------------------------------

products = APIRouter(prefix="/api/products", tags=["products"])


@products.post("", status_code=status.HTTP_201_CREATED, dependencies=[MANAGERS])
async def create_product(body: ProductCreate, user: CurrentUser, db: DbDep) -> ProductOut:
    async with db.transaction() as session:
        return ProductOut.model_validate(await service.create_product(session, body, user))


@products.get("")
async def list_products(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    group: Annotated[str | None, Query(max_length=100)] = None,
    q: Search = None,
    active: bool | None = None,
) -> Page[ProductOut]:
    """The price list; `q` matches code or name whatever the diacritics."""
    async with db.transaction() as session:
        rows, total = await service.list_products(session, paging, group=group, q=q, active=active)
        return Page(items=[ProductOut.model_validate(p) for p in rows], total=total)


@products.get("/{code}")
async def get_product(code: str, user: CurrentUser, db: DbDep) -> ProductOut:
    async with db.transaction() as session:
        return ProductOut.model_validate(await service.get_product(session, code))


@products.patch("/{code}", dependencies=[MANAGERS])
async def update_product(code: str, body: ProductUpdate, user: CurrentUser, db: DbDep) -> ProductOut:
    """A new price starts now; quotes already made keep theirs, the history keeps both."""
    async with db.transaction() as session:
        return ProductOut.model_validate(await service.update_product(session, code, body, user))


@products.get("/{code}/prices")
async def product_prices(code: str, user: CurrentUser, db: DbDep, paging: Paging) -> Page[ProductPriceOut]:
    """Every price the product had, newest first."""
    async with db.transaction() as session:
        rows, total = await service.product_prices(session, code, paging)
        return Page(items=[ProductPriceOut.model_validate(p) for p in rows], total=total)


# -- opportunities -------------------------------------------------------------------

opportunities = APIRouter(prefix="/api/opportunities", tags=["opportunities"], dependencies=[SELLERS])


@opportunities.get("")
async def list_opportunities(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    stage: OpportunityStage | None = None,
    customer_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> Page[OpportunityOut]:
    """A salesperson's own; managers see all."""
    async with db.transaction() as session:
        rows, total = await service.list_opportunities(
            session, user, paging, stage=stage, customer_id=customer_id, owner_id=owner_id
        )
        return Page(items=[OpportunityOut.model_validate(o) for o in rows], total=total)


@opportunities.get("/pipeline")
async def pipeline(user: CurrentUser, db: DbDep, owner_id: uuid.UUID | None = None) -> Pipeline:
    """Per stage: how many, their expected amount, and that amount weighted by the stage's probability."""
    async with db.transaction() as session:
        found = await service.pipeline(session, user, owner_id)
    stages = [
        PipelineStage(
            stage=stage,
            probability_pct=domain.STAGE_PROBABILITY_PCT[stage],
            count=count,
            amount=amount,
            weighted_amount=domain.weighted_amount(stage, amount),
        )
        for stage, count, amount in found
    ]
    open_stages = [s for s in stages if s.stage not in domain.CLOSED_STAGES]
    return Pipeline(
        stages=stages,
        open_count=sum(s.count for s in open_stages),
        open_amount=sum(s.amount for s in open_stages),
        weighted_total=sum(s.weighted_amount for s in open_stages),
    )


@opportunities.get("/{opportunity_id}")
async def get_opportunity(opportunity_id: uuid.UUID, user: CurrentUser, db: DbDep) -> OpportunityOut:
    async with db.transaction() as session:
        return OpportunityOut.model_validate(await service.get_opportunity(session, opportunity_id, user))


@opportunities.post("/{opportunity_id}/stage")
async def move_opportunity(
    opportunity_id: uuid.UUID, body: StageMove, user: CurrentUser, db: DbDep
) -> OpportunityOut:
    """Forward (skipping stages is fine), or lost with a reason; won and lost are final."""
    async with db.transaction() as session:
        return OpportunityOut.model_validate(
            await service.move_opportunity(session, opportunity_id, body, user)
        )


# -- approval rules ------------------------------------------------------------------

approval_rules = APIRouter(prefix="/api/approval-rules", tags=["quotes"])


@approval_rules.get("")
async def get_approval_rules(user: CurrentUser, db: DbDep) -> ApprovalRulesOut:
    async with db.transaction() as session:
        return ApprovalRulesOut.model_validate(await service.approval_rules(session))


@approval_rules.put("", dependencies=[MANAGERS])
async def set_approval_rules(body: ApprovalRulesIn, user: CurrentUser, db: DbDep) -> ApprovalRulesOut:
    """`all`: every quote needs a manager. `threshold`: only quotes with a total of at least
    `min_total`, or a line discount above `max_discount_pct`; the others are approved when
    their credit check passes. Applies to submissions from now on."""
    async with db.transaction() as session:
        return ApprovalRulesOut.model_validate(await service.set_approval_rules(session, body, user))


# -- quotes --------------------------------------------------------------------------

quotes = APIRouter(prefix="/api/quotes", tags=["quotes"])


def _expired(quote: Quote) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT,
        f"quote {quote.number} expired: it was valid until {quote.valid_until}; copy it to quote again",
    )


@quotes.post("", status_code=status.HTTP_201_CREATED, dependencies=[SELLERS])
async def create_quote(body: QuoteCreate, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    async with db.transaction() as session:
        return QuoteOut.model_validate(await service.create_quote(session, body, user, settings))


@quotes.get("")
async def list_quotes(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    settings: SettingsDep,
    status: QuoteStatus | None = None,
    customer_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> Page[QuoteOut]:
    """`?status=pending_approval` is the managers' approval queue, oldest submission first."""
    async with db.transaction() as session:
        rows, total = await service.list_quotes(
            session,
            user,
            paging,
            settings,
            status=status,
            customer_id=customer_id,
            opportunity_id=opportunity_id,
            owner_id=owner_id,
        )
        return Page(items=[QuoteOut.model_validate(q) for q in rows], total=total)


@quotes.post("/expire-due", dependencies=[MANAGERS])
async def expire_due(user: CurrentUser, db: DbDep, settings: SettingsDep) -> ExpiredOut:
    """Sent quotes past their validity become expired (reads do the same for what they show)."""
    async with db.transaction() as session:
        return ExpiredOut(expired=await service.expire_due(session, settings))


@quotes.get("/{quote_id}")
async def get_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    async with db.transaction() as session:
        return QuoteOut.model_validate(await service.get_quote(session, quote_id, user, settings))


@quotes.get("/{quote_id}/history")
async def quote_history(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, paging: Paging) -> Page[AuditOut]:
    """Who did what to the quote, oldest first."""
    async with db.transaction() as session:
        rows, total = await service.quote_history(session, quote_id, user, paging)
        return Page(items=[AuditOut.model_validate(e) for e in rows], total=total)


@quotes.patch("/{quote_id}", dependencies=[SELLERS])
async def edit_quote(
    quote_id: uuid.UUID, body: QuoteUpdate, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> QuoteOut:
    """Allowed in draft, pending_approval, approved and rejected; anything but a draft goes
    back to draft and loses its approval and credit check."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await service.edit_quote(session, quote_id, body, user, settings))


@quotes.post("/{quote_id}/copy", status_code=status.HTTP_201_CREATED, dependencies=[SELLERS])
async def copy_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    """A new draft with the same customer and lines; it needs its own approval."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await service.copy_quote(session, quote_id, user, settings))


@quotes.post("/{quote_id}/submit", dependencies=[SELLERS])
async def submit_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    async with db.transaction() as session:
        return QuoteOut.model_validate(await service.submit_quote(session, quote_id, user, settings))


@quotes.post("/{quote_id}/approve", dependencies=[MANAGERS])
async def approve_quote(
    quote_id: uuid.UUID, user: CurrentUser, db: DbDep, body: ApproveIn | None = None
) -> QuoteOut:
    """Only after the credit check answered; a failed check needs `override_reason`."""
    reason = body.override_reason if body else None
    async with db.transaction() as session:
        return QuoteOut.model_validate(await service.approve_quote(session, quote_id, reason, user))


@quotes.post("/{quote_id}/reject", dependencies=[MANAGERS])
async def reject_quote(quote_id: uuid.UUID, body: RejectIn, user: CurrentUser, db: DbDep) -> QuoteOut:
    async with db.transaction() as session:
        return QuoteOut.model_validate(await service.reject_quote(session, quote_id, body.reason, user))


@quotes.post("/{quote_id}/send", dependencies=[SELLERS])
async def send_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    async with db.transaction() as session:
        return QuoteOut.model_validate(await service.send_quote(session, quote_id, user, settings))


@quotes.post("/{quote_id}/accept", dependencies=[SELLERS])
async def accept_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    """The order follows at once for a traditional customer, else once the promotion arrives."""
    async with db.transaction() as session:
        quote, expired = await service.accept_quote(session, quote_id, user, settings)
    if expired:  # committed: the quote stays expired
        raise _expired(quote)
    return QuoteOut.model_validate(quote)


@quotes.post("/{quote_id}/decline", dependencies=[SELLERS])
async def decline_quote(
    quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep, body: DeclineIn | None = None
) -> QuoteOut:
    async with db.transaction() as session:
        quote, expired = await service.decline_quote(
            session, quote_id, body.reason if body else None, user, settings
        )
    if expired:
        raise _expired(quote)
    return QuoteOut.model_validate(quote)


# -- orders and contracts ------------------------------------------------------------

orders = APIRouter(prefix="/api/orders", tags=["orders"])


@orders.get("")
async def list_orders(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    customer_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
) -> Page[OrderOut]:
    async with db.transaction() as session:
        rows, total = await service.list_orders(
            session, user, paging, customer_id=customer_id, quote_id=quote_id
        )
        return Page(items=[OrderOut.model_validate(o) for o in rows], total=total)


@orders.get("/{order_id}")
async def get_order(order_id: uuid.UUID, user: CurrentUser, db: DbDep) -> OrderOut:
    async with db.transaction() as session:
        return OrderOut.model_validate(await service.get_order(session, order_id, user))


@orders.post("/{order_id}/contract", status_code=status.HTTP_201_CREATED, dependencies=[SELLERS])
async def create_contract(
    order_id: uuid.UUID, body: ContractCreate, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> ContractOut:
    """For an order that needs one (its total reaches the contract threshold)."""
    async with db.transaction() as session:
        return ContractOut.model_validate(
            await service.create_contract(session, order_id, body, user, settings)
        )


contracts = APIRouter(prefix="/api/contracts", tags=["orders"])


@contracts.get("")
async def list_contracts(
    user: CurrentUser, db: DbDep, paging: Paging, order_id: uuid.UUID | None = None
) -> Page[ContractOut]:
    async with db.transaction() as session:
        rows, total = await service.list_contracts(session, user, paging, order_id=order_id)
        return Page(items=[ContractOut.model_validate(c) for c in rows], total=total)


@contracts.get("/{contract_id}")
async def get_contract(contract_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ContractOut:
    async with db.transaction() as session:
        return ContractOut.model_validate(await service.get_contract(session, contract_id, user))


@contracts.post("/{contract_id}/sign", dependencies=[SELLERS])
async def sign_contract(contract_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ContractOut:
    async with db.transaction() as session:
        return ContractOut.model_validate(
            await service.change_contract(session, contract_id, ContractAction.SIGN, user)
        )


@contracts.post("/{contract_id}/complete", dependencies=[SELLERS])
async def complete_contract(contract_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ContractOut:
    async with db.transaction() as session:
        return ContractOut.model_validate(
            await service.change_contract(session, contract_id, ContractAction.COMPLETE, user)
        )


@contracts.post("/{contract_id}/terminate", dependencies=[SELLERS])
async def terminate_contract(
    contract_id: uuid.UUID, body: TerminateIn, user: CurrentUser, db: DbDep
) -> ContractOut:
    async with db.transaction() as session:
        return ContractOut.model_validate(
            await service.change_contract(
                session, contract_id, ContractAction.TERMINATE, user, reason=body.reason
            )
        )


# -- performance ---------------------------------------------------------------------

performance_router = APIRouter(prefix="/api/performance", tags=["performance"], dependencies=[SELLERS])


@performance_router.get("")
async def get_performance(
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    paging: Paging,
    period: Annotated[str, Query(max_length=10, description="2026, 2026-Q3 or 2026-09")],
    by: performance.Grouping = "salesperson",
    owner_id: uuid.UUID | None = None,
) -> PerformanceReport:
    """Per salesperson (or channel, or both): leads worked, converted and disqualified,
    conversion rate, prospects gained, quotes sent and accepted, orders, revenue (net) and
    its growth over the previous period of the same length. A salesperson sees their own."""
    try:
        wanted = domain.parse_period(period)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    async with db.transaction() as session:
        rows = await performance.report(session, user, wanted, by, settings, owner_id=owner_id)
    items = [
        PerformanceRow(
            owner_id=owner if by != "channel" else None,
            channel_id=channel,
            leads_worked=p.leads_worked,
            converted=p.converted,
            disqualified=p.disqualified,
            conversion_rate=p.conversion_rate,
            prospects_gained=p.prospects_gained,
            quotes_sent=p.quotes_sent,
            quotes_accepted=p.quotes_accepted,
            orders=p.orders,
            revenue=p.revenue,
            previous_revenue=p.previous_revenue,
            revenue_growth=p.revenue_growth,
        )
        for (owner, channel), p in rows
    ]
    return PerformanceReport(
        period=wanted.label,
        starts_on=wanted.start,
        ends_before=wanted.end,
        previous_period=wanted.previous().label,
        by=by,
        items=items[paging.offset : paging.offset + paging.limit],
        total=len(items),
    )


routers = [customers, products, opportunities, approval_rules, quotes, orders, contracts, performance_router]
