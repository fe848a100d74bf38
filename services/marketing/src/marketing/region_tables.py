"""Loads the shipped region data into the database (called from migrations)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, Table, delete
from sqlalchemy.dialects.postgresql import insert

from . import regions
from .models import FormerProvinceRow, RegionGroupRow, RegionRow


def sync(bind: Connection) -> None:
    """Make the tables hold exactly the rows of `marketing/data` (idempotent)."""
    _upsert(bind, _table(RegionRow), [asdict(r) for r in regions.load_regions()], ["code"])
    _upsert(bind, _table(RegionGroupRow), [asdict(g) for g in regions.load_groups()], ["grouping", "code"])
    former = [asdict(f) for f in regions.load_former()]
    _upsert(bind, _table(FormerProvinceRow), former, ["code"])
    table = _table(FormerProvinceRow)
    bind.execute(delete(table).where(table.c.code.not_in([f["code"] for f in former])))


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _upsert(bind: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    stmt = insert(table).values(rows)
    bind.execute(
        stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c: stmt.excluded[c] for c in rows[0] if c not in keys},
        )
    )
