"""Accounting's local copy of customers: each one's newest name and owner, as the
customers service's events bring them in any order, and the account that follows them.

Each use case runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerReassigned, CustomerUpdated
from crm_kit import ownership
from crm_kit.db import table_of

from .models import Account, CustomerName


def _record_names_statement() -> Any:
    stmt = insert(table_of(CustomerName))
    current = table_of(CustomerName).c
    newer = current.as_of < stmt.excluded.as_of
    return stmt.on_conflict_do_update(
        index_elements=[current.customer_id],
        set_={
            "name": case((newer, stmt.excluded.name), else_=current.name),
            "as_of": func.greatest(current.as_of, stmt.excluded.as_of),
        },
    ).returning(current.customer_id, current.name)


#: Built once; its rows come with each call.
_RECORD_NAMES = _record_names_statement()


async def record_names(
    session: AsyncSession, facts: Iterable[tuple[uuid.UUID, str, datetime]]
) -> dict[uuid.UUID, str]:
    """Record `(customer_id, name, as_of)` facts, keeping the newest of each customer by the
    customers service's time (like `ownership.record_owners`); the newest name of each."""
    newest: dict[uuid.UUID, tuple[str, datetime]] = {}
    for customer_id, name, as_of in facts:
        if customer_id not in newest or newest[customer_id][1] < as_of:
            newest[customer_id] = (name, as_of)
    if not newest:
        return {}
    rows = [
        {"customer_id": customer_id, "name": name, "as_of": as_of}
        for customer_id, (name, as_of) in sorted(newest.items())
    ]
    return {row.customer_id: row.name for row in await session.execute(_RECORD_NAMES, rows)}


async def customer_updated(session: AsyncSession, event: CustomerUpdated) -> None:
    """The account takes the customer's new name, unless a newer one is known; the name of a
    customer without an account yet (a prospect) waits for its opening."""
    names = await record_names(session, [(event.customer_id, event.name, event.updated_at)])
    await session.execute(
        update(Account)
        .where(Account.customer_id == event.customer_id)
        .values(customer_name=names[event.customer_id])
    )


async def customer_reassigned(session: AsyncSession, event: CustomerReassigned) -> None:
    """The account's owner follows the customer's, whichever event came first."""
    owner_id = await ownership.record_owner(
        session, event.customer_id, event.to_owner_id, event.reassigned_at
    )
    await session.execute(
        update(Account).where(Account.customer_id == event.customer_id).values(owner_id=owner_id)
    )
