"""The narrowing accounting's lists share: each filter the caller gave, none they left out."""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

Columns = TypeVarTuple("Columns")


def where_given(
    stmt: Select[*Columns], *filters: tuple[InstrumentedAttribute[Any], object | None]
) -> Select[*Columns]:
    """`stmt` narrowed to `column == value` for each `(column, value)` whose value is not None."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt
