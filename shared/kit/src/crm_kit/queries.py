"""Query helpers every service's lists share: who may see what, and paging."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from . import errors
from .auth import User
from .http import PageParams


def visible_to(
    stmt: Select[Any], owner_column: InstrumentedAttribute[Any] | ColumnElement[Any], user: User
) -> Select[Any]:
    """Only the caller's own records, unless their role sees all (object-level authorization)."""
    return stmt if user.sees_all else stmt.where(owner_column == user.id)


#: A list counts its matching rows up to here, no further: past it the answer says
#: `total_capped` (`crm_kit.http.Page`), and no page counts a million rows.
COUNT_CAP = 10_000


class Total(int):
    """How many rows a list matched, up to `COUNT_CAP` (`capped`: there are more), and the
    cursor of the page after this one (`crm_kit.http.Page` reads both)."""

    capped: bool
    next_cursor: str | None

    def __new__(cls, value: int, *, capped: bool = False, next_cursor: str | None = None) -> Total:
        total = super().__new__(cls, value)
        total.capped = capped
        total.next_cursor = next_cursor
        return total


async def capped_count(session: AsyncSession, stmt: Select[Any]) -> Total:
    """`count(*)` of `stmt`, reading at most `COUNT_CAP + 1` of its rows."""
    probe = stmt.order_by(None).limit(COUNT_CAP + 1)
    counted = int((await session.execute(select(func.count()).select_from(probe.subquery()))).scalar_one())
    return Total(min(counted, COUNT_CAP), capped=counted > COUNT_CAP)


# -- keyset paging ---------------------------------------------------------------------


def _sort_keys(order_by: tuple[Any, ...]) -> list[tuple[Column[Any], bool]] | None:
    """(column, descending) of each ORDER BY term, or None when one is not a plain column
    (such a list pages by offset only)."""
    keys: list[tuple[Column[Any], bool]] = []
    for term in order_by:
        expr = term.expression if isinstance(term, InstrumentedAttribute) else term
        descending = False
        if isinstance(expr, UnaryExpression) and expr.modifier in (operators.desc_op, operators.asc_op):
            descending = expr.modifier is operators.desc_op
            expr = expr.element
        if not isinstance(expr, Column):
            return None
        keys.append((expr, descending))
    return keys


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def _parsed(column: Column[Any], value: Any) -> Any:
    kind = column.type.python_type
    if value is None or isinstance(value, kind):
        return value
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return kind(value)


def encode_cursor(values: list[Any]) -> str:
    """The opaque `next_cursor` for the row whose sort values are `values`."""
    raw = json.dumps([_jsonable(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, keys: list[tuple[Column[Any], bool]]) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(keys) or None in values:
            raise ValueError("wrong shape")
        return [_parsed(column, value) for (column, _), value in zip(keys, values, strict=True)]
    except (ValueError, TypeError, NotImplementedError, binascii.Error, UnicodeDecodeError) as exc:
        raise errors.Invalid.at(
            ("query", "cursor"), "is not a cursor of this list", code="cursor.invalid"
        ) from exc


def _after(keys: list[tuple[Column[Any], bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows after `values` in the order of `keys`: (a after va) or (a = va and b after vb) ...,
    which an index on the sort columns answers without reading the rows before."""
    clauses: list[ColumnElement[bool]] = []
    for i, (column, descending) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(i)]
        beyond = column < values[i] if descending else column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def _row_values(row: Row[Any], keys: list[tuple[Column[Any], bool]]) -> list[Any] | None:
    first = row[0]
    mapping = row._mapping
    values = []
    for column, _ in keys:
        if column.key in mapping:
            value = mapping[column.key]
        elif column in mapping:
            value = mapping[column]
        else:
            value = getattr(first, column.key, None)
        if value is None:
            return None
        values.append(value)
    return values


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
    """`fetch_page` for a statement on a table: whole rows, not the first column.

    The total is counted up to `COUNT_CAP`. When the order is on plain columns, a full page
    carries the cursor of its last row (`Total.next_cursor`), and `page.cursor` pages by
    keyset from there instead of by offset."""
    total = await capped_count(session, stmt)
    keys = _sort_keys(order_by)
    query = stmt.order_by(*order_by).limit(page.limit)
    if page.cursor is not None:
        if keys is None:
            raise errors.Invalid.at(
                ("query", "cursor"), "this list pages by offset only", code="cursor.unsupported"
            )
        query = query.where(_after(keys, _decode_cursor(page.cursor, keys)))
    else:
        query = query.offset(page.offset)
    rows = list((await session.execute(query)).all())
    if keys is not None and len(rows) == page.limit:
        values = _row_values(rows[-1], keys)
        total.next_cursor = encode_cursor(values) if values is not None else None
    return rows, total


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
