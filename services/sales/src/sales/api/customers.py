"""Sales' copy of the customers: those it knows, and those open for ordering."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from crm_kit.auth import CurrentUser
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import customers
from ..domain import CustomerStage
from ..schemas import SalesCustomerOut
from .dependencies import Search

router = APIRouter(prefix="/api/sales/customers", tags=["customers"])


@router.get("")
async def list_customers(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    stage: Annotated[str | None, Query(pattern=f"^({'|'.join(CustomerStage)})$")] = None,
    q: Search = None,
) -> Page[SalesCustomerOut]:
    """Customers sales knows (prospects, traditional and inactive ones) that the caller may see;
    an inactive customer gets no new quote."""
    async with db.transaction() as session:
        wanted = None if stage is None else CustomerStage(stage)
        rows, total = await customers.list_customers(session, user, paging, stage=wanted, q=q)
        return Page(items=[SalesCustomerOut.model_validate(c) for c in rows], total=total)


@router.get("/{customer_id}")
async def get_customer(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> SalesCustomerOut:
    """Exists once sales has received the customer's promotion to traditional."""
    async with db.transaction() as session:
        return SalesCustomerOut.model_validate(await customers.get_customer(session, customer_id, user))
