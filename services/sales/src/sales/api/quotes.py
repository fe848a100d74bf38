"""Quotes: making, approval, and the customer's answer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from crm_kit import errors
from crm_kit.auth import CurrentUser
from crm_kit.documents import Lang
from crm_kit.documents.response import PDF, PDF_RESPONSES, document
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import approval, documents, quotes
from ..domain import QuoteStatus
from ..models import Quote
from ..schemas import (
    ApproveIn,
    AuditOut,
    DeclineIn,
    ExpiredOut,
    QuoteCreate,
    QuoteOut,
    QuoteUpdate,
    RejectIn,
)
from .dependencies import MANAGERS, NOT_YET, SELLERS, SettingsDep

router = APIRouter(prefix="/api/quotes", tags=["quotes"])


def _expired(quote: Quote) -> errors.Conflict:
    return errors.Conflict(
        f"quote {quote.number} expired: it was valid until {quote.valid_until}; copy it to quote again",
        code="quote.expired",
        params={"quote": quote.number, "valid_until": quote.valid_until},
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[SELLERS], responses=NOT_YET)
async def create_quote(body: QuoteCreate, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    """A draft quote owned by the caller, for a prospect or traditional customer they may see
    (an inactive one is 422), and optionally an open opportunity of that customer. A
    customer sales has not heard of yet (created a moment ago, its event on its way) is
    waited for up to `CUSTOMER_WAIT_S` (2.5 s), then answered 503 with `Retry-After`.
    A line without `unit_price` takes the price of the price list that applies to the
    customer today (its channel kind's or grade's, the lower when both do), else the
    product's current list price; each line says where its price came from
    (`price_source`, `price_list_id`) and its level (`level_price`). `valid_until`
    defaults to the configured number of days from today (30 unless set otherwise)."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await quotes.create_quote(session, body, user, settings))


@router.get("")
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
        rows, total = await quotes.list_quotes(
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


@router.post("/expire-due", dependencies=[MANAGERS])
async def expire_due(user: CurrentUser, db: DbDep, settings: SettingsDep) -> ExpiredOut:
    """Sent quotes past their validity become expired (reads do the same for what they show)."""
    async with db.transaction() as session:
        return ExpiredOut(expired=await quotes.expire_due(session, settings))


@router.get("/{quote_id}")
async def get_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    """One quote: a salesperson only their own (anyone else's is 'not found'), other roles any.
    A sent quote past its `valid_until` is answered, and stored, as expired."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await quotes.get_quote(session, quote_id, user, settings))


@router.get("/{quote_id}/document.pdf", response_class=Response, responses=PDF_RESPONSES)
async def quote_document(
    quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep, lang: Lang = "vi"
) -> Response:
    """The quote as the PDF the customer receives (`?lang=en` for English): the buyer's
    legal name, tax code and address, the lines, the totals per VAT rate, the total in
    words and the validity. Whoever may read the quote may download it (else 404)."""
    async with db.transaction() as session:
        number, body = await documents.quote_pdf(session, quote_id, user, settings, lang)
    return document(body, PDF, f"{number}.pdf")


@router.get("/{quote_id}/history")
async def quote_history(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, paging: Paging) -> Page[AuditOut]:
    """Who did what to the quote, oldest first."""
    async with db.transaction() as session:
        rows, total = await quotes.quote_history(session, quote_id, user, paging)
        return Page(items=[AuditOut.model_validate(e) for e in rows], total=total)


@router.patch("/{quote_id}", dependencies=[SELLERS])
async def edit_quote(
    quote_id: uuid.UUID, body: QuoteUpdate, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> QuoteOut:
    """Allowed in draft, pending_approval, approved and rejected; anything but a draft goes
    back to draft and loses its approval and credit check. New `lines` are priced as on
    the day of the edit, like a new quote's."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await quotes.edit_quote(session, quote_id, body, user, settings))


@router.post(
    "/{quote_id}/copy", status_code=status.HTTP_201_CREATED, dependencies=[SELLERS], responses=NOT_YET
)
async def copy_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    """A new draft with the same customer and lines; it needs its own approval."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await quotes.copy_quote(session, quote_id, user, settings))


@router.post("/{quote_id}/submit", dependencies=[SELLERS])
async def submit_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    """Ask for approval: only a draft still within its validity (else 409) becomes
    pending_approval, announced as QuoteSubmittedForApproval so accounting checks the
    customer's credit. When the approval rules need no manager, a passed credit check then
    approves it by itself (QuoteApproved); otherwise, or when the check fails, a manager
    approves or rejects it."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await approval.submit_quote(session, quote_id, user, settings))


@router.post("/{quote_id}/approve", dependencies=[MANAGERS])
async def approve_quote(
    quote_id: uuid.UUID, user: CurrentUser, db: DbDep, body: ApproveIn | None = None
) -> QuoteOut:
    """Only after the credit check answered; a failed check needs `override_reason`. Nobody
    approves a quote they made or own (409). Above the approval rules'
    `second_approval_min_total`, a sales manager's approval is the first of two: the quote
    stays pending_approval (`first_approved_by`) until another sales manager or an admin
    approves it; an admin's approval alone is enough."""
    reason = body.override_reason if body else None
    async with db.transaction() as session:
        return QuoteOut.model_validate(await approval.approve_quote(session, quote_id, reason, user))


@router.post("/{quote_id}/reject", dependencies=[MANAGERS])
async def reject_quote(quote_id: uuid.UUID, body: RejectIn, user: CurrentUser, db: DbDep) -> QuoteOut:
    """A manager refuses a pending_approval quote, with a reason; announced as QuoteRejected.
    An edit makes it a draft again, to be submitted anew. Counted as a quote lost (rejected)
    in its owner's performance, once however often it is rejected."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await approval.reject_quote(session, quote_id, body.reason, user))


@router.post("/{quote_id}/send", dependencies=[SELLERS])
async def send_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    """An approved quote goes to the customer (sent); one past its `valid_until` is refused
    (409). Counted as a quote sent in its owner's performance."""
    async with db.transaction() as session:
        return QuoteOut.model_validate(await quotes.send_quote(session, quote_id, user, settings))


@router.post("/{quote_id}/accept", dependencies=[SELLERS])
async def accept_quote(quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep) -> QuoteOut:
    """The order follows at once for a traditional customer, else once the promotion arrives.
    Counted as a quote won (accepted) in its owner's performance."""
    async with db.transaction() as session:
        quote, expired = await quotes.accept_quote(session, quote_id, user, settings)
    if expired:  # committed: the quote stays expired
        raise _expired(quote)
    return QuoteOut.model_validate(quote)


@router.post("/{quote_id}/decline", dependencies=[SELLERS])
async def decline_quote(
    quote_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep, body: DeclineIn | None = None
) -> QuoteOut:
    """The customer declined a sent quote, with an optional reason; final, and counted as a quote
    lost (declined) in its owner's performance. A sent quote past its `valid_until` becomes
    expired instead (a quote lost, expired), answered with 409."""
    async with db.transaction() as session:
        quote, expired = await quotes.decline_quote(
            session, quote_id, body.reason if body else None, user, settings
        )
    if expired:
        raise _expired(quote)
    return QuoteOut.model_validate(quote)
