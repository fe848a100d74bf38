from __future__ import annotations

import uuid

from fastapi import APIRouter

from crm_kit.auth import CurrentUser, Role, require_roles
from crm_kit.http import Page, Paging, not_found
from crm_kit.service import DbDep

from . import service
from .schemas import AccountOut, AccountUpdate

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


@router.get("")
async def list_accounts(user: CurrentUser, db: DbDep, paging: Paging) -> Page[AccountOut]:
    async with db.transaction() as session:
        rows, total = await service.list_visible(session, user, paging)
        return Page(items=[AccountOut.model_validate(a) for a in rows], total=total)


@router.get("/{customer_id}")
async def get_account(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> AccountOut:
    """The customer's account; it exists once the customer is traditional."""
    async with db.transaction() as session:
        try:
            return AccountOut.model_validate(await service.get_visible(session, customer_id, user))
        except service.NotFound as exc:
            raise not_found("account of customer", customer_id) from exc


@router.patch("/{customer_id}", dependencies=[require_roles(Role.ACCOUNTANT, Role.ADMIN)])
async def update_account(
    customer_id: uuid.UUID, body: AccountUpdate, user: CurrentUser, db: DbDep
) -> AccountOut:
    """Set the credit limit (accountant)."""
    async with db.transaction() as session:
        try:
            account = await service.set_credit_limit(session, customer_id, body.credit_limit, user)
        except service.NotFound as exc:
            raise not_found("account of customer", customer_id) from exc
        return AccountOut.model_validate(account)
