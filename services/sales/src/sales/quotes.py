"""Quotes: made for a prospect or a traditional customer, priced from its price level,
edited and copied, approved (`approval`), sent to the customer, who accepts or declines
it before it expires. An accepted quote wins its opportunity and becomes an order once
the customer is traditional."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import QuoteAccepted, QuoteDeclined, QuoteReopened, QuoteSent
from crm_kit import customer_copy, errors, outbox
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, one_visible, visible_to

from . import domain, opportunities, performance, price_lists
from .common import audit, next_number, utc_now, where_given
from .domain import AuditAction, Audited, CustomerStage, OpportunityStage, QuoteAction, QuoteStatus
from .models import AuditEntry, Opportunity, Product, Quote, QuoteLine, SalesCustomer
from .orders import place_order
from .performance_rules import FactKind
from .schemas import QuoteCreate, QuoteLineIn, QuoteUpdate
from .settings import Settings

# -- making and editing ----------------------------------------------------------------


async def _quotable_customer(
    session: AsyncSession, customer_id: uuid.UUID, user: User, settings: Settings
) -> SalesCustomer:
    customer = await session.get(SalesCustomer, customer_id)
    if customer is None:
        customer = await _arriving_customer(session, customer_id, settings)
    if (
        customer is not None
        and customer.lifecycle_stage == CustomerStage.INACTIVE
        and user.can_see(customer.owner_id)
    ):
        raise errors.Invalid(
            f"customer {customer_id} is inactive: no new quote until it is promoted again",
            code="quote.customer_inactive",
            params={"customer": customer_id},
        )
    if (
        customer is None
        or customer.lifecycle_stage not in domain.QUOTABLE_STAGES
        or not user.can_see(customer.owner_id)
    ):
        raise errors.Invalid(
            f"customer {customer_id} is not known to sales as a prospect or traditional customer of yours",
            code="quote.customer_not_quotable",
            params={"customer": customer_id},
        )
    return customer


async def _arriving_customer(
    session: AsyncSession, customer_id: uuid.UUID, settings: Settings
) -> SalesCustomer:
    """A customer sales has not heard of: perhaps created a moment ago, its event on its
    way. Wait for it (bounded), then answer 503 rather than a 422 saying it does not exist."""
    if await customer_copy.arrived(session, customer_id, within_s=settings.customer_wait_s) is not None:
        customer = await session.get(SalesCustomer, customer_id, populate_existing=True)
        if customer is not None:
            return customer
    raise errors.NotYet(
        f"customer {customer_id} is not known to sales yet: it may still be on its way from the "
        f"customers service (try again in a moment), or it may not exist",
        code="customer.not_yet",
        params={"customer": str(customer_id)},
        retry_after_s=max(1, round(settings.customer_wait_s)),
    )


async def _quotable_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, customer_id: uuid.UUID, user: User
) -> Opportunity:
    opportunity = await session.get(Opportunity, opportunity_id)
    if opportunity is None or not user.can_see(opportunity.owner_id):
        raise errors.Invalid(
            f"opportunity {opportunity_id} is not known to sales as one of yours",
            code="quote.opportunity_unknown",
            params={"opportunity": opportunity_id},
        )
    if opportunity.customer_id != customer_id:
        raise errors.Invalid(
            f"opportunity {opportunity_id} belongs to another customer",
            code="quote.opportunity_other_customer",
            params={"opportunity": opportunity_id},
        )
    if opportunity.stage in domain.CLOSED_STAGES:
        raise errors.Invalid(
            f"opportunity {opportunity_id} is {opportunity.stage}",
            code="quote.opportunity_closed",
            params={"opportunity": opportunity_id, "opportunity_stage": str(opportunity.stage)},
        )
    return opportunity


async def _priced_lines(
    session: AsyncSession, wanted: Sequence[QuoteLineIn], customer: SalesCustomer | None, day: date
) -> list[QuoteLine]:
    """Quote lines with their amounts and where their price came from: a line without a
    price takes the price list price that applies to the customer on `day`, else the
    product's current list price (`domain.line_price`)."""
    codes = {line.product_code for line in wanted}
    products = {p.code: p for p in await session.scalars(select(Product).where(Product.code.in_(codes)))}
    levels = await price_lists.level_prices(session, customer, day, codes)
    lines = []
    for position, line in enumerate(wanted, start=1):
        product = products.get(line.product_code)
        if product is None:
            raise errors.Invalid(
                f"line {position}: no product {line.product_code}",
                code="quote.line_product_unknown",
                params={"line": position, "product": line.product_code},
            )
        if not product.active:
            raise errors.Invalid(
                f"line {position}: product {line.product_code} is not sold any more (inactive)",
                code="quote.line_product_inactive",
                params={"line": position, "product": line.product_code},
            )
        price = domain.line_price(line.unit_price, product.unit_price, levels.get(product.code))
        vat_rate = product.vat_rate_pct
        amounts = domain.line_amounts(line.quantity, price.unit_price, line.discount_pct, vat_rate)
        lines.append(
            QuoteLine(
                position=position,
                product_code=product.code,
                product_name=product.name,
                product_group=product.product_group,
                unit=product.unit,
                quantity=line.quantity,
                unit_price=price.unit_price,
                discount_pct=line.discount_pct,
                vat_rate_pct=product.vat_rate_pct,
                gross_amount=amounts.gross,
                discount_amount=amounts.discount,
                net_amount=amounts.net,
                vat_amount=amounts.vat,
                total=amounts.total,
                price_source=price.source,
                price_list_id=price.price_list_id,
                level_price=price.level_price,
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
    if domain.is_past_validity(valid_until, settings.today()):
        raise errors.Invalid(
            f"valid_until {valid_until} is in the past",
            code="quote.valid_until_past",
            params={"valid_until": valid_until},
        )


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
    today = settings.today()
    now = utc_now()
    quote = Quote(
        id=uuid.uuid4(),
        number=await next_number(session, domain.QUOTE_NUMBER, today.year),
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
    await audit(
        session,
        Audited.QUOTE,
        quote.id,
        AuditAction.COPIED if copied_from_id else AuditAction.CREATED,
        created_by,
        changes,
    )
    return quote


async def create_quote(session: AsyncSession, body: QuoteCreate, user: User, settings: Settings) -> Quote:
    """A draft quote owned by the caller, priced from the customer's price level (or the
    products' list prices) unless a line gives its price."""
    customer = await _quotable_customer(session, body.customer_id, user, settings)
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
        lines=await _priced_lines(session, body.lines, customer, settings.today()),
    )


async def find_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, *, lock: bool = False) -> Quote:
    """The quote if the caller may see it (404 otherwise); `lock` for a change."""
    stmt = select(Quote).where(Quote.id == quote_id).execution_options(populate_existing=True)
    quote: Quote = await one_visible(session, stmt, user, kind="quote", key=quote_id, lock=lock)
    return quote


def about(quote: Quote) -> dict[str, Any]:
    """The fields every event about a quote carries."""
    return {
        "quote_id": quote.id,
        "quote_number": quote.number,
        "customer_id": quote.customer_id,
        "owner_id": quote.owner_id,
    }


def transition(quote: Quote, action: QuoteAction) -> QuoteStatus:
    return domain.quote_transition(QuoteStatus(quote.status), action)


def clear_approval(quote: Quote) -> None:
    quote.needs_manager = None
    quote.approval_mode = None
    quote.approved_by = None
    quote.approved_as = None
    quote.needs_second_approver = None
    quote.first_approved_by = None
    quote.first_approved_at = None
    quote.approved_at = None
    quote.override_reason = None
    quote.credit_status = None
    quote.credit_exposure = None
    quote.credit_open_receivables = None
    quote.credit_committed = None
    quote.credit_limit = None
    quote.credit_checked_at = None


async def edit_quote(
    session: AsyncSession, quote_id: uuid.UUID, body: QuoteUpdate, user: User, settings: Settings
) -> Quote:
    """Change lines (priced as on the day of the edit), validity or note. An edit of a
    submitted, approved or rejected quote sends it back to draft and clears its approval
    and credit check."""
    quote = await find_quote(session, quote_id, user, lock=True)
    before = QuoteStatus(quote.status)
    quote.status = transition(quote, QuoteAction.EDIT)
    changes: dict[str, Any] = {}
    if body.lines is not None:
        old_total = quote.total
        customer = await session.get(SalesCustomer, quote.customer_id)
        _set_lines(quote, await _priced_lines(session, body.lines, customer, settings.today()))
        changes["total"] = [old_total, quote.total]
    if body.valid_until is not None:
        _check_validity(body.valid_until, settings)
        changes["valid_until"] = [str(quote.valid_until), str(body.valid_until)]
        quote.valid_until = body.valid_until
    if "note" in body.model_fields_set:
        changes["note"] = [quote.note, body.note]
        quote.note = body.note
    quote.updated_at = utc_now()
    if before != QuoteStatus.DRAFT:
        clear_approval(quote)
        changes["status"] = [before, quote.status]
        # It no longer commits the customer's credit until submitted again (accounting).
        reopened = QuoteReopened(**about(quote), previous_status=before, reopened_at=quote.updated_at)
        await outbox.emit(session, reopened, actor=user.id)
    await audit(session, Audited.QUOTE, quote.id, AuditAction.EDITED, user.id, changes)
    return quote


async def copy_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings) -> Quote:
    """A new draft with the same customer and lines: approval is never copied."""
    source = await find_quote(session, quote_id, user)
    customer = await _quotable_customer(session, source.customer_id, user, settings)
    opportunity_id = source.opportunity_id
    if opportunity_id is not None:
        opportunity = await session.get(Opportunity, opportunity_id)
        if opportunity is None or opportunity.stage in domain.CLOSED_STAGES:
            opportunity_id = None
    return await _new_quote(
        session,
        settings,
        customer=customer,
        owner_id=source.owner_id,
        created_by=user.id,
        opportunity_id=opportunity_id,
        valid_until=None,
        note=source.note,
        lines=[QuoteLine.copy_of(line) for line in source.lines],
        copied_from_id=source.id,
    )


# -- reading and expiry ------------------------------------------------------------------


async def get_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings) -> Quote:
    await expire_due(session, settings, quote_id=quote_id)
    return await find_quote(session, quote_id, user)


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
    stmt = where_given(
        visible_to(select(Quote), Quote.owner_id, user),
        (Quote.status, status),
        (Quote.customer_id, customer_id),
        (Quote.opportunity_id, opportunity_id),
        (Quote.owner_id, owner_id),
    )
    order = (
        (Quote.submitted_at, Quote.id)
        if status == QuoteStatus.PENDING_APPROVAL
        else (Quote.created_at.desc(), Quote.id)
    )
    return await fetch_page(session, stmt, page, *order)


async def quote_history(
    session: AsyncSession, quote_id: uuid.UUID, user: User, page: PageParams
) -> tuple[list[AuditEntry], int]:
    quote = await find_quote(session, quote_id, user)
    stmt = select(AuditEntry).where(AuditEntry.entity == "quote", AuditEntry.entity_id == quote.id)
    return await fetch_page(session, stmt, page, AuditEntry.at, AuditEntry.id)


async def expire_due(session: AsyncSession, settings: Settings, *, quote_id: uuid.UUID | None = None) -> int:
    """Sent quotes past their validity become expired, each counted as a quote lost; returns
    how many did."""
    stmt = (
        update(Quote)
        .where(Quote.status == QuoteStatus.SENT, Quote.valid_until < settings.today())
        .values(status=QuoteStatus.EXPIRED, expired_at=utc_now(), updated_at=utc_now())
        .returning(Quote.id, Quote.valid_until)
        .execution_options(synchronize_session=False)
    )
    if quote_id is not None:
        stmt = stmt.where(Quote.id == quote_id)
    expired = (await session.execute(stmt)).all()
    await performance.quotes_expired(session, [(row.id, row.valid_until) for row in expired], settings)
    for row in expired:
        changes = {"status": [QuoteStatus.SENT, QuoteStatus.EXPIRED], "valid_until": str(row.valid_until)}
        await audit(session, Audited.QUOTE, row.id, AuditAction.EXPIRED, None, changes)
    return len(expired)


def refuse_if_past_validity(quote: Quote, settings: Settings, advice: str) -> None:
    """409 for a quote whose validity ended: it can be neither submitted nor sent."""
    if domain.is_past_validity(quote.valid_until, settings.today()):
        raise errors.Conflict(
            f"quote {quote.number} was valid until {quote.valid_until}: {advice}",
            code="quote.past_validity",
            params={"quote": quote.number, "valid_until": quote.valid_until},
        )


# -- with the customer -------------------------------------------------------------------


async def send_quote(session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings) -> Quote:
    quote = await find_quote(session, quote_id, user, lock=True)
    status = transition(quote, QuoteAction.SEND)
    refuse_if_past_validity(quote, settings, "edit valid_until (it then needs approval again)")
    now = utc_now()
    quote.status = status
    quote.sent_at = now
    quote.updated_at = now
    customer = await session.get(SalesCustomer, quote.customer_id)
    await performance.quote_fact(session, FactKind.QUOTE_SENT, quote, customer, now)
    changes = {"status": [QuoteStatus.APPROVED, QuoteStatus.SENT]}
    await audit(session, Audited.QUOTE, quote.id, AuditAction.SENT, user.id, changes)
    sent = QuoteSent(
        **about(quote),
        total=quote.total,
        currency=quote.currency,
        valid_until=quote.valid_until,
        sent_at=now,
        document_path=f"/api/quotes/{quote.id}/document.pdf",
    )
    await outbox.emit(session, sent, actor=user.id)
    return quote


async def _expired_now(session: AsyncSession, quote: Quote, settings: Settings) -> bool:
    """Expire a sent quote past its validity (reloading it) rather than let the customer
    answer it; whether it did."""
    if quote.status == QuoteStatus.SENT and domain.is_past_validity(quote.valid_until, settings.today()):
        if await expire_due(session, settings, quote_id=quote.id) > 0:
            await session.refresh(quote)
            return True
    return False


async def accept_quote(
    session: AsyncSession, quote_id: uuid.UUID, user: User, settings: Settings
) -> tuple[Quote, bool]:
    """The customer accepted: QuoteAccepted, the opportunity is won, and the order is placed
    now if the customer is traditional (else when its promotion arrives).

    Returns (quote, expired): a quote past its validity becomes expired instead, and the
    caller answers 409 after committing that."""
    found = await find_quote(session, quote_id, user)
    # Lock the customer before the quote, in the same order as the promotion handler,
    # so the two never deadlock and exactly one of them places the order.
    customer = await session.get(
        SalesCustomer, found.customer_id, with_for_update=True, populate_existing=True
    )
    quote = await find_quote(session, quote_id, user, lock=True)
    if await _expired_now(session, quote, settings):
        return quote, True
    quote.status = transition(quote, QuoteAction.ACCEPT)
    now = utc_now()
    quote.accepted_at = now
    quote.updated_at = now
    await outbox.emit(
        session,
        QuoteAccepted(
            **about(quote),
            opportunity_id=quote.opportunity_id,
            total=quote.total,
            currency=quote.currency,
            accepted_at=now,
        ),
        actor=user.id,
    )
    await performance.quote_fact(session, FactKind.QUOTE_ACCEPTED, quote, customer, now)
    changes = {"status": [QuoteStatus.SENT, QuoteStatus.ACCEPTED]}
    await audit(session, Audited.QUOTE, quote.id, AuditAction.ACCEPTED, user.id, changes)
    if quote.opportunity_id is not None:
        opportunity = await session.get(Opportunity, quote.opportunity_id, with_for_update=True)
        if opportunity is not None and opportunity.stage != OpportunityStage.WON:
            await opportunities.set_stage(
                session, opportunity, OpportunityStage.WON, user.id, won_quote_id=quote.id
            )
    if customer is not None and customer.lifecycle_stage == CustomerStage.TRADITIONAL:
        await place_order(session, quote, customer, settings, user.id)
    return quote, False


async def decline_quote(
    session: AsyncSession, quote_id: uuid.UUID, reason: str | None, user: User, settings: Settings
) -> tuple[Quote, bool]:
    """Returns (quote, expired) like `accept_quote`."""
    quote = await find_quote(session, quote_id, user, lock=True)
    if await _expired_now(session, quote, settings):
        return quote, True
    quote.status = transition(quote, QuoteAction.DECLINE)
    now = utc_now()
    quote.declined_at = now
    quote.decline_reason = reason
    quote.updated_at = now
    customer = await session.get(SalesCustomer, quote.customer_id)
    await performance.quote_fact(session, FactKind.QUOTE_DECLINED, quote, customer, now)
    declined = QuoteDeclined(**about(quote), reason=reason, declined_at=now)
    await outbox.emit(session, declined, actor=user.id)
    changes = {"status": [QuoteStatus.SENT, QuoteStatus.DECLINED], "reason": reason}
    await audit(session, Audited.QUOTE, quote.id, AuditAction.DECLINED, user.id, changes)
    return quote, False
