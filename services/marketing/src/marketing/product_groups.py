"""Marketing's copy of sales' product groups (`ProductGroupChanged`), newest wins.

Next step (issue 19, not yet on): refuse a market volume, a target or a proposal that
names a group not in this copy, or retired, with sales' codes `product_group.unknown` /
`product_group.retired`, so that a typo ("generator" for "generators") is not a market
of its own.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import ProductGroupChanged

from .models import KnownProductGroup


async def changed(session: AsyncSession, event: ProductGroupChanged) -> None:
    """Keep the group's name and standing unless a newer change is known already."""
    stmt = insert(KnownProductGroup).values(
        code=event.code, name=event.name, active=event.active, changed_at=event.changed_at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[KnownProductGroup.code],
            set_={column: stmt.excluded[column] for column in ("name", "active", "changed_at")},
            where=KnownProductGroup.changed_at < stmt.excluded.changed_at,
        )
    )
