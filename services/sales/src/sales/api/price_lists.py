"""Price levels: price lists per channel kind or grade, and their history."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit.audit import AuditEntryOut
from crm_kit.auth import CurrentUser
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import price_lists
from ..catalogue_schemas import (
    PriceListCreate,
    PriceListEnd,
    PriceListItemOut,
    PriceListOut,
    PriceListPatch,
    PriceListSummary,
)
from ..domain import ChannelKind
from ..models import PriceList
from ..schemas import AuditOut
from .dependencies import MANAGERS, SettingsDep

router = APIRouter(prefix="/api/price-lists", tags=["price lists"])


async def _out(session: AsyncSession, price_list: PriceList) -> PriceListOut:
    history = await price_lists.history(session, price_list.id)
    summary = PriceListSummary.model_validate(price_list)
    return PriceListOut(
        **summary.model_dump(),
        items=[PriceListItemOut.model_validate(item) for item in price_list.items],
        history=[AuditOut.model_validate(entry) for entry in history],
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[MANAGERS])
async def create_price_list(body: PriceListCreate, user: CurrentUser, db: DbDep) -> PriceListOut:
    """A price list for the customers in channels of one `channel_kind`, or of one `grade`
    (exactly one of them), from `valid_from` through `valid_to` (both included; open-ended
    without it). Every item names a product sales sells, once, with a price in dong
    without VAT. A quote line sent without a price then takes the price of the list that
    applies to its customer that day (see the architecture's "Price levels"). Sales
    managers and admins only; every problem is answered at once, naming its field (422)."""
    async with db.transaction() as session:
        return await _out(session, await price_lists.create_price_list(session, body, user))


@router.get("")
async def list_price_lists(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    channel_kind: ChannelKind | None = None,
    grade: Annotated[str | None, Query(max_length=40)] = None,
    valid_on: date | None = None,
    product_code: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[PriceListSummary]:
    """The price lists, the latest to start first, without their items (`item_count` says how
    many); `valid_on` keeps those that apply that day, `product_code` those that price it."""
    async with db.transaction() as session:
        rows, total = await price_lists.list_price_lists(
            session,
            paging,
            channel_kind=channel_kind,
            grade=grade,
            valid_on=valid_on,
            product_code=product_code,
        )
        return Page(items=[PriceListSummary.model_validate(p) for p in rows], total=total)


@router.get("/{price_list_id}")
async def get_price_list(price_list_id: uuid.UUID, user: CurrentUser, db: DbDep) -> PriceListOut:
    """One price list with its items and its history: who changed what, when."""
    async with db.transaction() as session:
        return await _out(session, await price_lists.get_price_list(session, price_list_id))


@router.patch("/{price_list_id}", dependencies=[MANAGERS])
async def update_price_list(
    price_list_id: uuid.UUID, body: PriceListPatch, user: CurrentUser, db: DbDep
) -> PriceListOut:
    """Rename the list, move its `valid_to` (null: open-ended), add or reprice products
    (`items`) and take products off it (`remove`, their codes). Each change is kept in the
    history; quotes made before keep the prices they took."""
    async with db.transaction() as session:
        return await _out(session, await price_lists.update_price_list(session, price_list_id, body, user))


@router.post("/{price_list_id}/end", dependencies=[MANAGERS])
async def end_price_list(
    price_list_id: uuid.UUID,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    body: PriceListEnd | None = None,
) -> PriceListOut:
    """End the list: it applies through `valid_to` (today unless given) and no longer. A day
    before the list starts is 422; a list that already ends by then is 409."""
    async with db.transaction() as session:
        price_list = await price_lists.end_price_list(
            session, price_list_id, body or PriceListEnd(), user, settings.today()
        )
        return await _out(session, price_list)


@router.get("/{price_list_id}/audit")
async def price_list_audit(
    price_list_id: uuid.UUID, user: CurrentUser, db: DbDep, paging: Paging
) -> Page[AuditEntryOut]:
    """Who changed the list, when, and each field (and item price) before and after, newest
    first: the same trail as `history`, in the shape of every service's `/audit`."""
    async with db.transaction() as session:
        items, total = await price_lists.audit_page(session, price_list_id, paging)
        return Page(items=[AuditEntryOut.model_validate(i) for i in items], total=total)
