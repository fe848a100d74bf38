from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from crm_kit.auth import CurrentUser, Role, require_roles
from crm_kit.http import Page, Paging, not_found
from crm_kit.service import DbDep

from . import domain, service
from .schemas import CustomerCreate, CustomerOut, TimelineOut

router = APIRouter(prefix="/api/customers", tags=["customers"])

SELLERS = require_roles(Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[SELLERS])
async def create_customer(body: CustomerCreate, user: CurrentUser, db: DbDep) -> CustomerOut:
    """Register a prospect owned by the caller."""
    async with db.transaction() as session:
        customer = await service.register_prospect(session, body, user)
        return CustomerOut.model_validate(customer)


@router.get("")
async def list_customers(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    lifecycle_stage: domain.Stage | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[CustomerOut]:
    """Customers the caller may see: a salesperson their own, managers all."""
    async with db.transaction() as session:
        rows, total = await service.list_visible(session, user, paging, stage=lifecycle_stage, q=q)
        return Page(items=[CustomerOut.model_validate(c) for c in rows], total=total)


@router.get("/{customer_id}")
async def get_customer(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> CustomerOut:
    async with db.transaction() as session:
        try:
            return CustomerOut.model_validate(await service.get_visible(session, customer_id, user))
        except service.NotFound as exc:
            raise not_found("customer", customer_id) from exc


@router.get("/{customer_id}/timeline")
async def get_timeline(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> list[TimelineOut]:
    async with db.transaction() as session:
        try:
            entries = await service.timeline(session, customer_id, user)
        except service.NotFound as exc:
            raise not_found("customer", customer_id) from exc
        return [TimelineOut.model_validate(e) for e in entries]


@router.post("/{customer_id}/promote", dependencies=[SELLERS])
async def promote_customer(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> CustomerOut:
    """Make a prospect traditional (idempotent); publishes CustomerPromotedToTraditional."""
    try:
        async with db.transaction() as session:
            return CustomerOut.model_validate(await service.promote(session, customer_id, user))
    except service.NotFound as exc:
        raise not_found("customer", customer_id) from exc
    except domain.IllegalTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
