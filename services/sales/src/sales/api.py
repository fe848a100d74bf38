from __future__ import annotations

import uuid

from fastapi import APIRouter

from crm_kit.auth import CurrentUser
from crm_kit.http import Page, Paging, not_found
from crm_kit.service import DbDep

from . import service
from .schemas import SalesCustomerOut

router = APIRouter(prefix="/api/sales", tags=["sales"])


@router.get("/customers")
async def list_customers(user: CurrentUser, db: DbDep, paging: Paging) -> Page[SalesCustomerOut]:
    """Customers open for ordering that the caller may see."""
    async with db.transaction() as session:
        rows, total = await service.list_customers(session, user, paging)
        return Page(items=[SalesCustomerOut.model_validate(c) for c in rows], total=total)


@router.get("/customers/{customer_id}")
async def get_customer(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> SalesCustomerOut:
    """Exists once sales has received the customer's promotion to traditional."""
    async with db.transaction() as session:
        try:
            return SalesCustomerOut.model_validate(await service.get_customer(session, customer_id, user))
        except service.NotFound as exc:
            raise not_found("sales customer", customer_id) from exc
