"""Accounting's copy of customers (`crm_kit.customer_copy`) and the accounts that follow it.

A customer's name and owner reach accounting on its promotion, edits and hand-overs,
in any order; the copy keeps the newest of each, and an open account takes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomersMerged
from crm_kit import customer_copy
from crm_kit.db import table_of
from crm_kit.handlers import Handlers

from . import credit_policy
from .domain import LimitChange
from .models import Account, CreditCheck, CreditCommitment, CreditNote, Invoice, LedgerEntry, Payment

_ACCOUNTS = table_of(Account)

#: Built once; one row of parameters per customer.
_FOLLOW = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.customer_id == bindparam("id"))
    .values(customer_name=bindparam("name"), owner_id=bindparam("owner"), grade=bindparam("grade"))
)


async def follow(session: AsyncSession, known: Sequence[Row[Any]]) -> None:
    """Open accounts take their customer's newest name, owner and grade; a customer without an
    account yet (a prospect) keeps them in the copy until its account opens."""
    rows = [
        {"id": row.customer_id, "name": row.name, "owner": row.owner_id, "grade": row.grade}
        for row in known
        if row.name
    ]
    if rows:
        await session.execute(_FOLLOW, rows)


#: What accounting files under a customer, moved to the survivor when customers merge.
_FILED_UNDER_CUSTOMER = (Invoice, Payment, CreditNote, LedgerEntry, CreditCheck, CreditCommitment)


async def _survivors_account(session: AsyncSession, survivor: uuid.UUID, merged: Account) -> Account:
    """The survivor's account; opened like the merged one's (its credit limit) when the
    survivor has none yet (a prospect whose promotion is on its way)."""
    account = await session.get(Account, survivor, with_for_update=True)
    if account is None:
        known = await customer_copy.known(session, survivor)
        account = Account(
            customer_id=survivor,
            customer_name=known.name if known is not None and known.name else merged.customer_name,
            owner_id=known.owner_id if known is not None else merged.owner_id,
            currency=merged.currency,
            credit_limit=merged.credit_limit,
            credit_limit_source=merged.credit_limit_source,
            cash_only=merged.cash_only,
            grade=known.grade if known is not None else merged.grade,
            balance=0,
        )
        session.add(account)
        await session.flush()
    return account


async def repoint(session: AsyncSession, event: CustomersMerged) -> None:
    """The merged customer's account moves into the survivor's: its balance, and every
    invoice, payment, credit note, ledger entry, credit check and commitment filed under it
    (their amounts and dates stay as they were), so receivables, credit checks and
    statements count them under the survivor. The merged account stays, at zero. Run
    twice, the second finds a zero balance and nothing filed under the merged id."""
    target = await customer_copy.survivor(session, event.customer_id)
    merged = await session.get(Account, event.merged_customer_id, with_for_update=True)
    if merged is None:
        return
    survivor = await _survivors_account(session, target, merged)
    survivor.balance += merged.balance
    merged.balance = 0
    await session.flush()
    for model in _FILED_UNDER_CUSTOMER:
        await session.execute(
            update(model)
            .where(model.customer_id == event.merged_customer_id)
            .values(customer_id=target)
            .execution_options(synchronize_session=False)
        )


def register(handlers: Handlers, default_credit_limit: int) -> None:
    """Edits, hand-overs, deactivations, gradings and merges of customers reach the copy
    and the accounts; a merge moves the merged customer's account into the survivor's. A
    new grade or channel moves the limit of an account that follows the credit policy."""

    async def follow_all(session: AsyncSession, known: Sequence[Row[Any]]) -> None:
        # The policy first, so its entry shows the grade before and after.
        if known:
            await credit_policy.apply(
                session,
                default_credit_limit,
                actor=None,
                action=LimitChange.REGRADE,
                customer_ids=[row.customer_id for row in known],
                reason="; ".join(f"grade {row.grade}" for row in known if row.grade) or None,
                regraded_only=True,
            )
        await follow(session, known)

    customer_copy.register(handlers, apply=follow_all, merged=repoint, graded=True)
