"""Use cases of ownership: a manager gives a customer to someone else, a leaver's whole
portfolio is handed over (PortfolioReassigned), and what a member of staff still holds.

The planned care of a customer always follows it to its new owner, and each move is
in the customer's timeline.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CareActivityPlanned, CustomerReassigned, Envelope, PortfolioReassigned
from crm_kit import directory, errors, handovers
from crm_kit.auth import Role, User
from crm_kit.outbox import emit, emit_many

from .care import activity_planned_event
from .domain import ActivityStatus, TimelineKind
from .models import Activity, Customer
from .records import get_visible, now
from .timeline import entry, jsonable, record, record_all

#: Roles that may own customers.
OWNER_ROLES = frozenset({Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN})


async def active_owner(session: AsyncSession, owner_id: uuid.UUID) -> directory.StaffMember:
    member = await directory.by_id(session, owner_id)
    if member is None or not member.active:
        raise errors.Invalid.at(
            ("body", "owner_id"),
            f"{owner_id} is not an active member of staff",
            code="owner.inactive",
            params={"owner": str(owner_id)},
        )
    if member.role not in OWNER_ROLES:
        raise errors.Invalid.at(
            ("body", "owner_id"),
            f"a {member.role} cannot own customers",
            code="owner.role_cannot_own",
            params={"username": member.username, "role": member.role or ""},
        )
    return member


async def assign(session: AsyncSession, customer_id: uuid.UUID, owner_id: uuid.UUID, user: User) -> Customer:
    """Give the customer (and its planned activities) to another owner; no change if it is theirs."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    await active_owner(session, owner_id)
    if customer.owner_id == owner_id:
        return customer
    previous = customer.owner_id
    at = now()
    customer.owner_id = owner_id
    customer.updated_at = at
    move = {"from": jsonable(previous), "to": str(owner_id)}
    record(session, customer.id, TimelineKind.OWNER_CHANGED, user.id, move)
    await hand_planned_care(session, customer, user.id)
    await emit(
        session,
        CustomerReassigned(
            customer_id=customer.id, from_owner_id=previous, to_owner_id=owner_id, reassigned_at=at
        ),
        actor=user.id,
    )
    await session.flush()
    return customer


async def hand_planned_care(session: AsyncSession, customer: Customer, actor: uuid.UUID | None) -> int:
    """Give the customer's planned activities that are not its owner's to its owner, each
    move in the timeline and announced again (the reminder follows the work); how many."""
    planned = (
        await session.execute(
            select(Activity)
            .where(
                Activity.customer_id == customer.id,
                Activity.status == ActivityStatus.PLANNED,
                Activity.assignee_id.is_distinct_from(customer.owner_id),
            )
            .order_by(Activity.due_on, Activity.id)
            .with_for_update()
        )
    ).scalars()
    moved: list[CareActivityPlanned] = []
    for activity in planned:
        before = activity.assignee_id
        activity.assignee_id = customer.owner_id
        detail = {
            "from": jsonable(before),
            "to": jsonable(customer.owner_id),
            "activity_id": str(activity.id),
        }
        record(session, customer.id, TimelineKind.ACTIVITY_REASSIGNED, actor, detail)
        moved.append(activity_planned_event(activity, customer.name, previous_owner_id=before))
    await emit_many(session, moved, actor=actor)
    return len(moved)


# -- hand-over -------------------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    customers: int
    planned_activities: int


async def reassign_portfolio(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> Moved:
    """Every customer of the leaving owner (whatever its stage) and every planned
    activity assigned to them move to the new owner (or whoever took the new owner's
    portfolio since: `crm_kit.handovers`), each move in a timeline.

    Each `CustomerReassigned` is stamped now, not with the offboarding's time: a fact
    handled here before it (a promotion that still named the leaver) is older, so the
    copies in other services take this owner, whatever order the two reach them in."""
    source, actor = event.from_user_id, envelope.actor
    target = await handovers.record(session, event)
    if source == target:
        return Moved(customers=0, planned_activities=0)
    at = max(now(), event.reassigned_at)
    customers = list(
        (
            await session.execute(
                update(Customer)
                .where(Customer.owner_id == source)
                .values(owner_id=target, updated_at=at)
                .returning(Customer.id)
                .execution_options(synchronize_session=False)
            )
        ).scalars()
    )
    moved = await session.execute(
        update(Activity)
        .where(Activity.assignee_id == source, Activity.status == ActivityStatus.PLANNED)
        .values(assignee_id=target)
        .returning(Activity)
        .execution_options(synchronize_session=False)
    )
    activities = list(moved.scalars())
    moves = {"from": str(source), "to": str(target), "via": "portfolio_reassigned"}
    await record_all(
        session,
        [entry(cid, TimelineKind.OWNER_CHANGED, actor, moves) for cid in customers]
        + [
            entry(
                activity.customer_id,
                TimelineKind.ACTIVITY_REASSIGNED,
                actor,
                {**moves, "activity_id": str(activity.id)},
            )
            for activity in activities
        ],
    )
    for cid in customers:
        await emit(
            session,
            CustomerReassigned(customer_id=cid, from_owner_id=source, to_owner_id=target, reassigned_at=at),
            actor=actor,
        )
    await _remind_new_owner(session, activities, previous_owner_id=source, actor=actor)
    return Moved(customers=len(customers), planned_activities=len(activities))


async def _remind_new_owner(
    session: AsyncSession,
    activities: list[Activity],
    *,
    previous_owner_id: uuid.UUID,
    actor: uuid.UUID | None,
) -> None:
    """The reminders follow the work to its new owner."""
    if not activities:
        return
    named = await session.execute(
        select(Customer.id, Customer.name).where(Customer.id.in_({a.customer_id for a in activities}))
    )
    names = {customer_id: name for customer_id, name in named.all()}
    await emit_many(
        session,
        [
            activity_planned_event(a, names[a.customer_id], previous_owner_id=previous_owner_id)
            for a in activities
        ],
        actor=actor,
    )


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """What the member of staff still holds here: zero everywhere after a hand-over."""
    customers = await session.scalar(select(func.count()).where(Customer.owner_id == user_id))
    planned = await session.scalar(
        select(func.count()).where(Activity.assignee_id == user_id, Activity.status == ActivityStatus.PLANNED)
    )
    return {"customers": customers or 0, "planned_activities": planned or 0}
