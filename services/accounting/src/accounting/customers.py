"""Accounting's copy of customers (`crm_kit.customer_copy`) and the accounts that follow it.

A customer's name and owner reach accounting on its promotion, edits and hand-overs,
in any order; the copy keeps the newest of each, and an open account takes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import customer_copy
from crm_kit.db import table_of
from crm_kit.handlers import Handlers

from .models import Account

_ACCOUNTS = table_of(Account)

#: Built once; one row of parameters per customer.
_FOLLOW = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.customer_id == bindparam("id"))
    .values(customer_name=bindparam("name"), owner_id=bindparam("owner"))
)


async def follow(session: AsyncSession, known: Sequence[Row[Any]]) -> None:
    """Open accounts take their customer's newest name and owner; a customer without an
    account yet (a prospect) keeps them in the copy until its account opens."""
    rows = [{"id": row.customer_id, "name": row.name, "owner": row.owner_id} for row in known if row.name]
    if rows:
        await session.execute(_FOLLOW, rows)


def register(handlers: Handlers) -> None:
    """Edits, hand-overs and deactivations of customers reach the copy and the accounts."""
    customer_copy.register(handlers, apply=follow)
