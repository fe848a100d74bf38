"""Query helpers every service's lists share: who may see what, and paging."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from . import errors
from .auth import User
from .http import PageParams


def visible_to(
    stmt: Select[Any], owner_column: InstrumentedAttribute[Any] | ColumnElement[Any], user: User
) -> Select[Any]:
    """Only the caller's own records, unless their role sees all (object-level authorization)."""
    return stmt if user.sees_all else stmt.where(owner_column == user.id)


async def fetch_page(
    session: AsyncSession, stmt: Select[Any], page: PageParams, *order_by: Any
) -> tuple[list[Any], int]:
    """One page of `stmt`'s records (its first column: mapped objects) in a stable order,
    and how many there are in all."""
    rows, total = await fetch_rows_page(session, stmt, page, *order_by)
    return [row[0] for row in rows], total


async def fetch_rows_page(
    session: AsyncSession, stmt: Select[Any], page: PageParams, *order_by: Any
) -> tuple[list[Row[Any]], int]:
    """`fetch_page` for a statement on a table: whole rows, not the first column."""
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(stmt.order_by(*order_by).limit(page.limit).offset(page.offset))
    return list(rows.all()), total


async def one_visible(
    session: AsyncSession, stmt: Select[Any], user: User, *, kind: str, key: object, lock: bool = False
) -> Any:
    """The one record `stmt` selects if the caller may see it (by its `owner_id`), else
    `NotFound(kind, key)`: a stranger's record is "not found" (a 403 would tell them it
    exists). `lock` takes the row FOR UPDATE, for a change."""
    if lock:
        stmt = stmt.with_for_update()
    record = (await session.execute(stmt)).scalar_one_or_none()
    if record is None or not user.can_see(record.owner_id):
        raise errors.NotFound(kind, key)
    return record
