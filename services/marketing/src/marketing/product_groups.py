"""Marketing's copy of sales' product groups (`ProductGroupChanged`), newest wins, and
the check that a market volume, a target or a proposal names one of them.

A group is found as sales finds it: by its code as written, else by its code or name
without diacritics ("May bom" is "máy bơm"), and is kept under its code. A group not in
this copy is refused as `product_group.unknown` and a retired one as
`product_group.retired` (sales' codes, 422 at the field), so a typo ("generator" for
"generators") is not a market of its own. What is stored already keeps its group: a
volume or a target of a group retired since is revised as before (its group is not
sent again, so not checked again).

A group made in sales a moment ago is unknown here until its event is consumed; a
client retries then (`crm_testkit.catalogue.once_known`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import ProductGroupChanged
from crm_kit import errors
from crm_kit.text import fold

from .models import KnownProductGroup

#: Where a request names its product group.
FIELD: errors.Location = ("body", "product_group")
UNKNOWN = "product_group.unknown"
RETIRED = "product_group.retired"


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


async def check(session: AsyncSession, group: str, loc: errors.Location = FIELD) -> str:
    """The code of the active group `group` names (its code, or its code or name whatever
    the diacritics); `Invalid` at `loc` otherwise."""
    code, refusal = await problem(session, group, loc)
    if refusal is not None:
        raise errors.Invalid.at(refusal.loc, refusal.message, code=refusal.code, params=refusal.params)
    assert code is not None
    return code


async def problem(
    session: AsyncSession, group: str, loc: errors.Location = FIELD
) -> tuple[str, None] | tuple[None, errors.At]:
    """(the code of the active group `group` names, None), or (None, why not at `loc`):
    `check` without raising, for a report that lists every refusal."""
    known = await find(session, group)
    if known is None:
        message = f"{group!r} is not a product group; pick one of the list (GET /api/product-groups)"
        return None, errors.At(loc, message, UNKNOWN, {"group": group})
    if not known.active:
        message = f"product group {known.code!r} is retired: it takes no new estimates or targets"
        return None, errors.At(loc, message, RETIRED, {"group": known.code})
    return known.code, None


async def active_codes(session: AsyncSession) -> set[str]:
    """The codes of the groups that take new estimates and targets."""
    return set(await session.scalars(select(KnownProductGroup.code).where(KnownProductGroup.active)))


async def find(session: AsyncSession, group: str) -> KnownProductGroup | None:
    """The known group `group` means: its code exactly first, else the one whose code or
    name folds the same (sales keeps those unique)."""
    wanted = " ".join(group.split())
    exact = await session.get(KnownProductGroup, wanted)
    if exact is not None:
        return exact
    folded = fold(wanted)
    if not folded:
        return None
    # The list is a price list's groups, a few dozen: folded here as sales folds them.
    every = await session.scalars(select(KnownProductGroup).order_by(KnownProductGroup.code))
    return next((g for g in every if folded in (fold(g.code), fold(g.name))), None)
