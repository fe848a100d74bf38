"""The product groups of the price list: every role reads them, managers keep them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from crm_kit.auth import CurrentUser
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import product_groups
from ..catalogue_schemas import ProductGroupCreate, ProductGroupOut, ProductGroupUpdate
from .dependencies import MANAGERS, Search

router = APIRouter(prefix="/api/product-groups", tags=["products"])

GroupCode = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("")
async def list_groups(
    user: CurrentUser, db: DbDep, paging: Paging, q: Search = None, active: bool | None = None
) -> Page[ProductGroupOut]:
    """The list, by name; `q` matches code or name whatever the diacritics, `active=true`
    leaves out retired groups (those a new product, estimate or target may not take)."""
    async with db.transaction() as session:
        rows, total = await product_groups.list_groups(session, paging, q=q, active=active)
        return Page(items=[ProductGroupOut.model_validate(g) for g in rows], total=total)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[MANAGERS])
async def create_group(body: ProductGroupCreate, user: CurrentUser, db: DbDep) -> ProductGroupOut:
    """Add a group. A code or name that is another group's, whatever the case and the
    diacritics, is refused (409 `product_group.exists`, naming that group)."""
    async with db.transaction() as session:
        return ProductGroupOut.model_validate(await product_groups.create_group(session, body, user))


@router.get("/{code}")
async def get_group(code: GroupCode, user: CurrentUser, db: DbDep) -> ProductGroupOut:
    async with db.transaction() as session:
        return ProductGroupOut.model_validate(await product_groups.get_group(session, code))


@router.patch("/{code}", dependencies=[MANAGERS])
async def update_group(
    code: GroupCode, body: ProductGroupUpdate, user: CurrentUser, db: DbDep
) -> ProductGroupOut:
    """Rename a group, or retire it (`active: false`: no new products, estimates or
    targets; what it has keeps it) and bring it back. Each change is announced."""
    async with db.transaction() as session:
        return ProductGroupOut.model_validate(await product_groups.update_group(session, code, body, user))
