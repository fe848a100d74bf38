"""The price list and its history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from crm_kit.auth import CurrentUser
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import products
from ..catalogue_schemas import ProductCreate, ProductOut, ProductPriceOut, ProductUpdate
from .dependencies import MANAGERS, Search

router = APIRouter(prefix="/api/products", tags=["products"])


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[MANAGERS])
async def create_product(body: ProductCreate, user: CurrentUser, db: DbDep) -> ProductOut:
    """Add a product to the price list; its code is kept upper-case and must be new (409), and
    its first price starts the product's price history."""
    async with db.transaction() as session:
        return ProductOut.model_validate(await products.create_product(session, body, user))


@router.get("")
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
        rows, total = await products.list_products(session, paging, group=group, q=q, active=active)
        return Page(items=[ProductOut.model_validate(p) for p in rows], total=total)


@router.get("/{code}")
async def get_product(code: str, user: CurrentUser, db: DbDep) -> ProductOut:
    """A product by its code, in any case (`pump-01` is `PUMP-01`), inactive ones included."""
    async with db.transaction() as session:
        return ProductOut.model_validate(await products.get_product(session, code))


@router.patch("/{code}", dependencies=[MANAGERS])
async def update_product(code: str, body: ProductUpdate, user: CurrentUser, db: DbDep) -> ProductOut:
    """A new price starts now; quotes already made keep theirs, the history keeps both."""
    async with db.transaction() as session:
        return ProductOut.model_validate(await products.update_product(session, code, body, user))


@router.get("/{code}/prices")
async def product_prices(code: str, user: CurrentUser, db: DbDep, paging: Paging) -> Page[ProductPriceOut]:
    """Every price the product had, newest first."""
    async with db.transaction() as session:
        rows, total = await products.product_prices(session, code, paging)
        return Page(items=[ProductPriceOut.model_validate(p) for p in rows], total=total)
