"""Use cases of customer care: planned activities, their outcome, and overdue care."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CareActivityClosed, CareActivityPlanned
from crm_kit import errors
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.outbox import emit
from crm_kit.queries import Total, capped_count, fetch_page, visible_to

from .domain import ActivityStatus, Stage, TimelineKind
from .models import Activity, Customer
from .records import get_visible, now, refuse_inactive
from .schemas import ActivityCancel, ActivityComplete, ActivityIn
from .timeline import record

#: How much of an activity's note its events carry.
NOTE_SUMMARY_CHARS = 200


def activity_planned_event(
    activity: Activity, customer_name: str, *, previous_owner_id: uuid.UUID | None = None
) -> CareActivityPlanned:
    note = activity.note[:NOTE_SUMMARY_CHARS] if activity.note else None
    return CareActivityPlanned.model_validate(
        {
            "customer_id": activity.customer_id,
            "activity_id": activity.id,
            "customer_name": customer_name,
            "kind": activity.kind,
            "due_on": activity.due_on,
            "owner_id": activity.assignee_id,
            "previous_owner_id": previous_owner_id,
            "note": note,
        }
    )


def activity_closed_event(activity: Activity) -> CareActivityClosed:
    assert activity.closed_at is not None
    return CareActivityClosed.model_validate(
        {
            "customer_id": activity.customer_id,
            "activity_id": activity.id,
            "owner_id": activity.assignee_id,
            "status": activity.status,
            "done_on": activity.done_on,
            "closed_at": activity.closed_at,
        }
    )


async def plan(session: AsyncSession, customer_id: uuid.UUID, body: ActivityIn, user: User) -> Activity:
    """A planned activity, assigned to whoever owns the customer (who is reminded on the due day)."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    refuse_inactive(customer)
    activity = Activity(
        id=uuid.uuid4(),
        customer_id=customer.id,
        kind=body.kind.value,
        status=ActivityStatus.PLANNED,
        due_on=body.due_on,
        note=body.note,
        assignee_id=customer.owner_id or user.id,
        created_by=user.id,
    )
    session.add(activity)
    record(
        session,
        customer.id,
        TimelineKind.ACTIVITY_PLANNED,
        user.id,
        {"activity_id": str(activity.id), "kind": activity.kind, "due_on": body.due_on.isoformat()},
    )
    await emit(session, activity_planned_event(activity, customer.name), actor=user.id)
    await session.flush()
    return activity


async def _planned(
    session: AsyncSession, customer_id: uuid.UUID, activity_id: uuid.UUID, user: User
) -> tuple[Customer, Activity]:
    customer = await get_visible(session, customer_id, user, for_update=True)
    activity = (
        await session.execute(
            select(Activity)
            .where(Activity.id == activity_id, Activity.customer_id == customer.id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if activity is None:
        raise errors.NotFound("activity", activity_id)
    if activity.status != ActivityStatus.PLANNED:
        raise errors.Conflict(
            f"activity {activity.id} is {activity.status}, not planned",
            code="activity.not_planned",
            params={"status": activity.status},
        )
    return customer, activity


def contact_moment(done_on: date, *, today: date, zone: ZoneInfo) -> datetime:
    """When a contact on `done_on` happened: now if today, else midday of that day locally
    (so the day stays the same day in the business's calendar)."""
    if done_on == today:
        return now()
    return datetime.combine(done_on, time(12), tzinfo=zone)


async def complete(
    session: AsyncSession,
    customer_id: uuid.UUID,
    activity_id: uuid.UUID,
    body: ActivityComplete,
    user: User,
    *,
    today: date,
    zone: ZoneInfo,
) -> Activity:
    """Done: the outcome is kept and the customer's last contact moves forward."""
    done_on = body.done_on or today
    if done_on > today:
        raise errors.Invalid.at(
            ("body", "done_on"),
            f"{done_on} is in the future",
            code="activity.done_on_future",
            params={"done_on": done_on},
        )
    customer, activity = await _planned(session, customer_id, activity_id, user)
    activity.status = ActivityStatus.DONE
    activity.outcome = body.outcome
    activity.done_on = done_on
    activity.closed_at = now()
    activity.closed_by = user.id
    contact = contact_moment(done_on, today=today, zone=zone)
    # A late report of an older contact never moves the last contact back.
    if customer.last_contact_at is None or contact > customer.last_contact_at:
        customer.last_contact_at = contact
        customer.updated_at = now()
    record(
        session,
        customer.id,
        TimelineKind.ACTIVITY_DONE,
        user.id,
        {"activity_id": str(activity.id), "outcome": body.outcome, "done_on": done_on.isoformat()},
    )
    await emit(session, activity_closed_event(activity), actor=user.id)
    await session.flush()
    return activity


async def cancel(
    session: AsyncSession, customer_id: uuid.UUID, activity_id: uuid.UUID, body: ActivityCancel, user: User
) -> Activity:
    customer, activity = await _planned(session, customer_id, activity_id, user)
    activity.status = ActivityStatus.CANCELLED
    activity.cancel_reason = body.reason
    activity.closed_at = now()
    activity.closed_by = user.id
    record(
        session,
        customer.id,
        TimelineKind.ACTIVITY_CANCELLED,
        user.id,
        {"activity_id": str(activity.id), "reason": body.reason},
    )
    await emit(session, activity_closed_event(activity), actor=user.id)
    await session.flush()
    return activity


async def list_for_customer(
    session: AsyncSession,
    customer_id: uuid.UUID,
    user: User,
    page: PageParams,
    *,
    status: ActivityStatus | None = None,
) -> tuple[list[Activity], int]:
    await get_visible(session, customer_id, user)
    stmt = select(Activity).where(Activity.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(Activity.status == status)
    return await fetch_page(session, stmt, page, Activity.due_on, Activity.created_at, Activity.id)


async def list_activities(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    status: ActivityStatus | None = None,
    due_before: date | None = None,
) -> tuple[list[Activity], int]:
    """The caller's own activities (everyone's for roles that see all)."""
    stmt = visible_to(select(Activity), Activity.assignee_id, user)
    if status is not None:
        stmt = stmt.where(Activity.status == status)
    if due_before is not None:
        stmt = stmt.where(Activity.due_on <= due_before)
    return await fetch_page(session, stmt, page, Activity.due_on, Activity.created_at, Activity.id)


def overdue_statement(
    user: User, *, as_of: date, default_cadence_days: int, zone: ZoneInfo
) -> tuple[Any, Any, Any]:
    """The care-overdue customers' statement, the day each one's care fell due, and its cadence."""
    # The zone, the default cadence and the stage are written into the statement, not bound:
    # so Postgres sees the expression (and the predicate) of `ix_customers_care_due`
    # (migration 0012, made for the default settings) and reads the most overdue first
    # from it instead of sorting every active customer.
    zone_name = literal(zone.key, literal_execute=True)
    since = cast(func.timezone(zone_name, func.coalesce(Customer.last_contact_at, Customer.created_at)), Date)
    cadence = func.coalesce(
        Customer.care_cadence_days, literal(default_cadence_days, Integer, literal_execute=True)
    )
    due_on = since + cadence
    stmt: Any = visible_to(select(Customer), Customer.owner_id, user).where(
        Customer.lifecycle_stage != literal(Stage.INACTIVE.value, literal_execute=True),
        since + cadence < as_of,
    )
    return stmt, due_on, cadence


async def care_overdue(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    as_of: date,
    default_cadence_days: int,
    zone: ZoneInfo,
) -> tuple[list[tuple[Customer, date, int]], Total]:
    """Active customers not contacted within their grade's care cadence, longest overdue first.

    The same rule as `domain.care_overdue`, in SQL: the last contact (or the
    creation) as a day in the business's calendar, plus the cadence, before `as_of`.
    """
    stmt, due_on, cadence = overdue_statement(
        user, as_of=as_of, default_cadence_days=default_cadence_days, zone=zone
    )
    total = await capped_count(session, stmt)
    rows = await session.execute(
        stmt.add_columns(due_on.label("care_due_on"), cadence.label("cadence"))
        .order_by(due_on, Customer.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return [(customer, due, days) for customer, due, days in rows.all()], total
