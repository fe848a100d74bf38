"""The credit policy: which limit a new account gets, by the customer's grade and channel
kind, and the accounts whose limit follows it (those never set by hand). Every change of
a limit goes into the account's audit trail (`crm_kit.audit`) with who, before, after, why.

Each runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import ChannelChanged
from crm_kit import audit, errors
from crm_kit.auth import User
from crm_kit.customer_copy import known_customers

from . import domain
from .domain import Limit, LimitChange, LimitSource, PolicyRule
from .models import Account, CreditPolicyRule, KnownChannel

#: The audit trail's names: an account's entries, and the policy's (one record).
ACCOUNT = "account"
POLICY = "credit_policy"
POLICY_ID = uuid.UUID(int=1)
#: Accounts re-applied per statement (`apply`): the work of one request stays in bounds
#: per round trip however many accounts there are.
BATCH = 500
_KNOWN = known_customers.c


@dataclass(frozen=True)
class Policy:
    rules: list[CreditPolicyRule]
    updated_at: datetime | None
    updated_by: uuid.UUID | None


def _rule(row: CreditPolicyRule) -> PolicyRule:
    return PolicyRule(row.grade, row.channel_kind, row.credit_limit, row.cash_only)


def _described(rules: Sequence[PolicyRule]) -> list[dict[str, Any]]:
    return [
        {
            "grade": r.grade,
            "channel_kind": r.channel_kind,
            "credit_limit": r.credit_limit,
            "cash_only": r.cash_only,
        }
        for r in rules
    ]


async def get(session: AsyncSession) -> Policy:
    rows = list(
        (
            await session.scalars(
                select(CreditPolicyRule).order_by(
                    CreditPolicyRule.grade.nulls_last(),
                    CreditPolicyRule.channel_kind.nulls_last(),
                )
            )
        ).all()
    )
    newest = max(rows, key=lambda r: r.updated_at, default=None)
    return Policy(rows, newest.updated_at if newest else None, newest.updated_by if newest else None)


async def rules(session: AsyncSession) -> list[PolicyRule]:
    return [_rule(row) for row in (await get(session)).rules]


async def replace(session: AsyncSession, wanted: Sequence[PolicyRule], user: User) -> Policy:
    """The policy becomes `wanted` (422 naming a rule with another's scope, or a policy
    without a fallback; nothing changes then). Accounts keep their limits until the policy
    is applied (`apply`) or their customer's grade changes."""
    if problems := domain.policy_problems(wanted):
        raise errors.Invalid.many(problems)
    # One writer at a time: two replacements would otherwise interleave their rules.
    await session.execute(text("LOCK TABLE credit_policy_rules IN SHARE ROW EXCLUSIVE MODE"))
    before = await rules(session)
    await session.execute(delete(CreditPolicyRule))
    for rule in wanted:
        session.add(
            CreditPolicyRule(
                id=uuid.uuid4(),
                grade=rule.grade,
                channel_kind=rule.channel_kind,
                credit_limit=0 if rule.cash_only else rule.credit_limit,
                cash_only=rule.cash_only,
                updated_by=user.id,
            )
        )
    await session.flush()
    policy = await get(session)
    await audit.record(
        session,
        POLICY,
        POLICY_ID,
        "replaced",
        user.id,
        {"rules": _described(before)},
        {"rules": _described([_rule(r) for r in policy.rules])},
    )
    return policy


async def channel_kinds(
    session: AsyncSession, channel_ids: Sequence[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    ids = sorted({c for c in channel_ids if c is not None})
    if not ids:
        return {}
    rows = await session.execute(
        select(KnownChannel.channel_id, KnownChannel.kind).where(KnownChannel.channel_id.in_(ids))
    )
    return {channel_id: kind for channel_id, kind in rows}


async def limit_of_customer(session: AsyncSession, customer_id: uuid.UUID, default: int) -> Limit:
    """The policy's limit for a customer as accounting knows it (a prospect without an account)."""
    row = (
        await session.execute(
            select(_KNOWN.grade, _KNOWN.channel_id).where(_KNOWN.customer_id == customer_id)
        )
    ).first()
    grade, channel_id = (row.grade, row.channel_id) if row is not None else (None, None)
    kinds = await channel_kinds(session, [channel_id])
    return domain.policy_limit(
        await rules(session), grade, kinds.get(channel_id) if channel_id else None, default
    )


async def apply(
    session: AsyncSession,
    default: int,
    *,
    actor: uuid.UUID | None,
    action: LimitChange,
    customer_ids: Sequence[uuid.UUID] | None = None,
    channel_id: uuid.UUID | None = None,
    reason: str | None = None,
    regraded_only: bool = False,
) -> int:
    """The policy's limit on each account that follows it (of `customer_ids`, or of the
    customers of `channel_id`, or all), with the customer's grade as accounting knows it
    now; each account whose limit, cash-only or grade changes gets an entry. How many
    limits changed. A limit set by hand stays. `regraded_only`: only accounts whose grade
    differs from the one they were given their limit for (an edit of the customer's name
    re-applies nothing: a changed policy reaches accounts only when applied)."""
    policy = await rules(session)
    changed = 0
    after: uuid.UUID | None = None
    while True:
        stmt = (
            select(Account, _KNOWN.grade.label("known_grade"), KnownChannel.kind)
            .outerjoin(known_customers, _KNOWN.customer_id == Account.customer_id)
            .outerjoin(KnownChannel, KnownChannel.channel_id == _KNOWN.channel_id)
            .where(Account.credit_limit_source == LimitSource.POLICY)
            .order_by(Account.customer_id)
            .limit(BATCH)
            .with_for_update(of=Account)
        )
        if customer_ids is not None:
            stmt = stmt.where(Account.customer_id.in_(list(customer_ids)))
        if channel_id is not None:
            stmt = stmt.where(_KNOWN.channel_id == channel_id)
        if after is not None:
            stmt = stmt.where(Account.customer_id > after)
        batch = (await session.execute(stmt)).all()
        if not batch:
            return changed
        entries = []
        for account, grade, kind in batch:
            if regraded_only and grade == account.grade:
                continue
            limit = domain.policy_limit(policy, grade, kind, default)
            before = _limit_fields(account)
            now = {"credit_limit": limit.credit_limit, "cash_only": limit.cash_only, "grade": grade}
            if before == now:
                continue
            if (before["credit_limit"], before["cash_only"]) != (limit.credit_limit, limit.cash_only):
                changed += 1
            b, a = audit.changed(before, now)
            entries.append(
                {
                    "entity": ACCOUNT,
                    "entity_id": account.customer_id,
                    "action": action,
                    "actor_id": actor,
                    "before": b,
                    "after": a,
                    "reason": reason,
                }
            )
            account.credit_limit, account.cash_only, account.grade = (
                limit.credit_limit,
                limit.cash_only,
                grade,
            )
        await session.flush()
        await audit.record_many(session, entries)
        after = batch[-1][0].customer_id
        if len(batch) < BATCH:
            return changed


def _limit_fields(account: Account) -> dict[str, Any]:
    return {"credit_limit": account.credit_limit, "cash_only": account.cash_only, "grade": account.grade}


async def set_by_hand(
    session: AsyncSession, account: Account, credit_limit: int, user: User, reason: str | None
) -> Account:
    """An accountant's limit: it stays (the policy no longer moves it), and says so."""
    before = {**_limit_fields(account), "credit_limit_source": account.credit_limit_source}
    account.credit_limit, account.cash_only = credit_limit, False
    account.credit_limit_source = LimitSource.MANUAL
    await session.flush()
    after = {**_limit_fields(account), "credit_limit_source": account.credit_limit_source}
    await audit.record(
        session, ACCOUNT, account.customer_id, LimitChange.MANUAL, user.id, before, after, reason=reason
    )
    return account


async def follow_policy(
    session: AsyncSession, account: Account, user: User, default: int, reason: str | None
) -> Account:
    """Hand a limit set by hand back to the policy: it takes the policy's limit now and follows it."""
    if account.credit_limit_source != LimitSource.POLICY:
        await session.execute(
            update(Account)
            .where(Account.customer_id == account.customer_id)
            .values(credit_limit_source=LimitSource.POLICY)
        )
        await audit.record(
            session,
            ACCOUNT,
            account.customer_id,
            LimitChange.POLICY,
            user.id,
            {"credit_limit_source": account.credit_limit_source},
            {"credit_limit_source": LimitSource.POLICY},
            reason=reason,
        )
    await apply(
        session,
        default,
        actor=user.id,
        action=LimitChange.POLICY,
        customer_ids=[account.customer_id],
        reason=reason,
    )
    await session.refresh(account)
    return account


async def channel_changed(session: AsyncSession, event: ChannelChanged, default: int) -> None:
    """Keep the channel's kind (newest wins); if it is new or its kind changed, the accounts
    of its customers that follow the policy take the limit of their channel kind."""
    stmt = insert(KnownChannel).values(
        channel_id=event.channel_id, kind=event.kind, changed_at=event.changed_at
    )
    old = await session.scalar(
        select(KnownChannel.kind).where(KnownChannel.channel_id == event.channel_id).with_for_update()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[KnownChannel.channel_id],
            set_={"kind": stmt.excluded.kind, "changed_at": stmt.excluded.changed_at},
            where=KnownChannel.changed_at < stmt.excluded.changed_at,
        )
    )
    now = await session.scalar(select(KnownChannel.kind).where(KnownChannel.channel_id == event.channel_id))
    if now != old:
        await apply(
            session,
            default,
            actor=None,
            action=LimitChange.REGRADE,
            channel_id=event.channel_id,
            reason=f"channel kind {now}",
        )
