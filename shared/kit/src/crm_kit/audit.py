"""The audit trail a service keeps of changes to its records: who, when, before, after.

One table (`audit_entries`) any service can keep, written in the caller's transaction
with the change it records (a refused change leaves no entry), and one route factory
for a record's history, newest first, with who by name from the staff directory::

    await audit.record(session, "channel", channel.id, "coverage_set", user.id,
                       {"region_codes": old}, {"region_codes": new})      # a use case
    router = audit.audit_router("channels", "channel", roles=..., exists=...)  # app.py
    run_env(Base.metadata, ..., audit.metadata)                           # migrations/env.py
    audit.create_table()                                                  # a migration

`before` and `after` hold the fields that changed (`changed` keeps only those), as JSON;
a record just made has no `before`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import CurrentUser, Role, User, require_roles
from .directory import staff
from .http import Page, PageParams, Paging
from .runtime import DbDep

metadata = sa.MetaData()

#: Longest reason kept with an entry (a credit limit's "why").
MAX_REASON = 500


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.Uuid, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        # None: the system did it (an event, not a person).
        sa.Column("actor_id", sa.Uuid),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("before", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("after", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("reason", sa.String(MAX_REASON)),
    ]


audit_entries = sa.Table("audit_entries", metadata, *_columns())
_A = audit_entries.c
#: A record's history, newest first, is one index range.
sa.Index("ix_audit_entries_entity", _A.entity, _A.entity_id, _A.id)


def create_table() -> None:
    """For a migration: the table and its index."""
    op.create_table("audit_entries", *_columns())
    op.create_index("ix_audit_entries_entity", "audit_entries", ["entity", "entity_id", "id"])


def drop_table() -> None:
    op.drop_table("audit_entries")


def jsonable(value: Any) -> Any:
    """`value` as JSON keeps it: ids and days as text, collections element by element."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value differs, before and after (as JSON)."""
    b, a = jsonable(before), jsonable(after)
    keys = [k for k in dict.fromkeys([*b, *a]) if b.get(k) != a.get(k)]
    return {k: b.get(k) for k in keys if k in b}, {k: a.get(k) for k in keys if k in a}


async def record(
    session: AsyncSession,
    entity: str,
    entity_id: uuid.UUID,
    action: str,
    actor: uuid.UUID | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    reason: str | None = None,
    only_changes: bool = True,
) -> bool:
    """Write one entry in the caller's transaction; with `only_changes` (the default) only
    the fields that changed are kept, and nothing is written if none did. Whether written."""
    if only_changes:
        b, a = changed(before or {}, after or {})
        if not b and not a:
            return False
    else:
        b, a = jsonable(dict(before or {})), jsonable(dict(after or {}))
    await session.execute(
        sa.insert(audit_entries).values(
            entity=entity,
            entity_id=entity_id,
            action=action,
            actor_id=actor,
            before=b,
            after=a,
            reason=reason[:MAX_REASON] if reason else None,
        )
    )
    return True


async def record_many(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Entries as rows of the table's columns (`entity`, `entity_id`, `action`, `actor_id`,
    `before`, `after`, `reason`), in one statement: a set-based change's trail."""
    if rows:
        await session.execute(
            sa.insert(audit_entries),
            [
                {"reason": None, **row, "before": jsonable(row["before"]), "after": jsonable(row["after"])}
                for row in rows
            ],
        )


class AuditEntryOut(BaseModel):
    id: int
    entity: str
    entity_id: uuid.UUID
    action: str
    actor_id: uuid.UUID | None
    #: The member of staff's full name, as the staff directory knows it (None: the system,
    #: or someone whose registration has not arrived).
    actor_name: str | None
    at: datetime
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str | None


async def page(
    session: AsyncSession,
    entities: Sequence[str],
    entity_id: uuid.UUID,
    paging: PageParams,
    *,
    actions: Sequence[str] | None = None,
) -> Page[AuditEntryOut]:
    """One record's entries (of any of `entities`), newest first, with who by name."""
    where = [_A.entity.in_(list(entities)), _A.entity_id == entity_id]
    if actions is not None:
        where.append(_A.action.in_(list(actions)))
    total = await session.scalar(sa.select(sa.func.count()).select_from(audit_entries).where(*where))
    rows = await session.execute(
        sa.select(audit_entries, staff.c.full_name.label("actor_name"))
        .outerjoin(staff, staff.c.user_id == _A.actor_id)
        .where(*where)
        .order_by(_A.id.desc())
        .limit(paging.limit)
        .offset(paging.offset)
    )
    return Page(
        items=[AuditEntryOut.model_validate(dict(row._mapping)) for row in rows], total=int(total or 0)
    )


#: Raises `NotFound` if the record is unknown or not the caller's to see.
Exists = Callable[[AsyncSession, uuid.UUID, User], Awaitable[object]]


def audit_router(
    collection: str,
    entities: str | Sequence[str],
    *,
    roles: Sequence[Role],
    exists: Exists,
    tag: str | None = None,
) -> APIRouter:
    """`GET /api/<collection>/{id}/audit`: the record's entries, newest first, a page at a
    time (`limit`, `offset`; `total`). `exists` answers 404 for a record the caller may not see."""
    kinds = [entities] if isinstance(entities, str) else list(entities)
    router = APIRouter(tags=[tag or collection])

    @router.get(
        f"/api/{collection}/{{record_id}}/audit",
        dependencies=[require_roles(*roles)],
        summary=f"The audit trail of one of the {collection.replace('-', ' ')}",
    )
    async def audit_trail(
        record_id: uuid.UUID, user: CurrentUser, db: DbDep, paging: Paging
    ) -> Page[AuditEntryOut]:
        """Who changed what, when: each entry's fields before and after, newest first."""
        async with db.transaction() as session:
            await exists(session, record_id, user)
            return await page(session, kinds, record_id, paging)

    return router
