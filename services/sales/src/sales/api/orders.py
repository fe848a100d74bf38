"""Orders, and the contract an order may need."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from crm_kit.auth import CurrentUser
from crm_kit.documents import Lang
from crm_kit.documents.response import PDF, PDF_RESPONSES, document
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import contracts, documents, domain, orders
from ..models import Order
from ..schemas import ContractCreate, ContractOut, OrderCancel, OrderOut
from .dependencies import SELLERS, SettingsDep

router = APIRouter(prefix="/api/orders", tags=["orders"])


@router.get("")
async def list_orders(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    customer_id: uuid.UUID | None = None,
    quote_id: uuid.UUID | None = None,
    order_status: Annotated[domain.OrderStatus | None, Query(alias="status")] = None,
    from_date: Annotated[date | None, Query(alias="from", description="order date, included")] = None,
    to_date: Annotated[date | None, Query(alias="to", description="order date, included")] = None,
) -> Page[OrderOut]:
    """Orders the caller may see, newest first: a salesperson their own, other roles all. An
    order is placed from an accepted quote once its customer is traditional. Filters:
    `status` (`placed`, `cancelled`), the customer, the quote, the order date's range."""
    async with db.transaction() as session:
        rows, total = await orders.list_orders(
            session,
            user,
            paging,
            customer_id=customer_id,
            quote_id=quote_id,
            status=order_status,
            from_date=from_date,
            to_date=to_date,
        )
        return Page(items=[_out(o) for o in rows], total=total)


@router.get("/{order_id}")
async def get_order(order_id: uuid.UUID, user: CurrentUser, db: DbDep) -> OrderOut:
    """One order with its lines: a salesperson only their own (anyone else's is 'not found'),
    other roles any."""
    async with db.transaction() as session:
        return _out(await orders.get_order(session, order_id, user))


@router.post("/{order_id}/cancel", dependencies=[SELLERS])
async def cancel_order(order_id: uuid.UUID, body: OrderCancel, user: CurrentUser, db: DbDep) -> OrderOut:
    """Cancel an order before it is invoiced, with the reason (required): its owner, a sales
    manager or an admin. 409 once it is cancelled or sales has heard of its invoice
    ("credit the invoice instead"). Announced as `OrderCancelled`: accounting does not invoice
    it, and revenue, market share, attainment and performance no longer count it."""
    async with db.transaction() as session:
        return _out(await orders.cancel_order(session, order_id, body.reason, user))


def _out(order: Order) -> OrderOut:
    return OrderOut.model_validate(order)


@router.get("/{order_id}/document.pdf", response_class=Response, responses=PDF_RESPONSES)
async def order_document(order_id: uuid.UUID, user: CurrentUser, db: DbDep, lang: Lang = "vi") -> Response:
    """The order as a PDF for the customer (`?lang=en` for English), with its payment terms.
    Whoever may read the order may download it (else 404)."""
    async with db.transaction() as session:
        number, body = await documents.order_pdf(session, order_id, user, lang)
    return document(body, PDF, f"{number}.pdf")


@router.post("/{order_id}/contract", status_code=status.HTTP_201_CREATED, dependencies=[SELLERS])
async def create_contract(
    order_id: uuid.UUID, body: ContractCreate, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> ContractOut:
    """For an order that needs one (its total reaches the contract threshold)."""
    async with db.transaction() as session:
        return ContractOut.model_validate(
            await contracts.create_contract(session, order_id, body, user, settings)
        )
