"""The product groups of the price list, a managed list: a product is filed under one of
them, and marketing estimates markets and sets targets per group (`ProductGroupChanged`).

A group is found by its code as written or by its code or name without diacritics
("May bom" is "máy bơm"), so a second spelling of one group is refused rather than
becoming a new market.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import ProductGroupChanged
from crm_kit import errors, outbox
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page
from crm_kit.text import fold

from .catalogue_schemas import ProductGroupCreate, ProductGroupUpdate
from .common import audit, escape_like, utc_now
from .domain import AuditAction, Audited
from .models import ProductGroup

FIELD = ("body", "product_group")


async def create_group(session: AsyncSession, body: ProductGroupCreate, user: User) -> ProductGroup:
    name = body.name or body.code
    same = await _same_as(session, body.code, name)
    if same is not None:
        raise errors.Conflict(
            f"product group {body.code!r} is already on the list as {same.code!r} ({same.name})",
            code="product_group.exists",
            params={"group": body.code, "existing": same.code, "existing_name": same.name},
        )
    now = utc_now()
    group = ProductGroup(
        code=body.code,
        name=name,
        code_folded=fold(body.code),
        name_folded=fold(name),
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    await session.flush()
    made = {"code": group.code, "name": name}
    await audit(session, Audited.PRODUCT_GROUP, group.id, AuditAction.CREATED, user.id, made)
    await _announce(session, group, user)
    return group


async def update_group(
    session: AsyncSession, code: str, body: ProductGroupUpdate, user: User
) -> ProductGroup:
    group = await get_group(session, code, lock=True)
    changes: dict[str, list[object]] = {}
    if body.name is not None and body.name != group.name:
        same = await _same_as(session, body.name, body.name)
        if same is not None and same.id != group.id:
            raise errors.Conflict(
                f"{body.name!r} is the name of product group {same.code!r} already",
                code="product_group.exists",
                params={"group": body.name, "existing": same.code, "existing_name": same.name},
            )
        changes["name"] = [group.name, body.name]
        group.name, group.name_folded = body.name, fold(body.name)
    if body.active is not None and body.active != group.active:
        changes["active"] = [group.active, body.active]
        group.active = body.active
    if changes:
        group.updated_at = utc_now()
        await audit(session, Audited.PRODUCT_GROUP, group.id, AuditAction.CHANGED, user.id, changes)
        await _announce(session, group, user)
    return group


async def get_group(session: AsyncSession, code: str, *, lock: bool = False) -> ProductGroup:
    stmt = select(ProductGroup).where(ProductGroup.code == " ".join(code.split()))
    group = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if group is None:
        raise errors.NotFound("product group", code)
    return group


async def list_groups(
    session: AsyncSession, page: PageParams, *, q: str | None = None, active: bool | None = None
) -> tuple[list[ProductGroup], int]:
    stmt = select(ProductGroup)
    if active is not None:
        stmt = stmt.where(ProductGroup.active.is_(active))
    if q:
        folded = escape_like(fold(q))
        stmt = stmt.where(
            or_(
                ProductGroup.code_folded.contains(folded, autoescape=False, escape="\\"),
                ProductGroup.name_folded.contains(folded, autoescape=False, escape="\\"),
            )
        )
    return await fetch_page(session, stmt, page, ProductGroup.name_folded, ProductGroup.code)


async def group_for_product(session: AsyncSession, value: str) -> str:
    """The code of the active group a product is filed under, from what was sent: its
    code, or its code or name whatever the diacritics. 422 at the field otherwise."""
    group = await _same_as(session, value, value)
    if group is None:
        raise errors.Invalid.at(
            FIELD,
            f"{value!r} is not a product group; pick one of the list (GET /api/product-groups)",
            code="product_group.unknown",
            params={"group": value},
        )
    if not group.active:
        raise errors.Invalid.at(
            FIELD,
            f"product group {group.code!r} is retired: it takes no new products",
            code="product_group.retired",
            params={"group": group.code},
        )
    return group.code


async def _same_as(session: AsyncSession, code: str, name: str) -> ProductGroup | None:
    """The group this code or name means: its code exactly first, else the one whose code
    or name folds the same."""
    exact = await session.scalar(select(ProductGroup).where(ProductGroup.code == code))
    if exact is not None:
        return exact
    folded = {fold(code), fold(name)}
    stmt = (
        select(ProductGroup)
        .where(or_(ProductGroup.code_folded.in_(folded), ProductGroup.name_folded.in_(folded)))
        .order_by(ProductGroup.created_at)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def _announce(session: AsyncSession, group: ProductGroup, user: User) -> None:
    """ProductGroupChanged with what the group is now; the row's lock orders the stamps."""
    changed_at: datetime = group.updated_at
    event = ProductGroupChanged(code=group.code, name=group.name, active=group.active, changed_at=changed_at)
    await outbox.emit(session, event, actor=user.id)
