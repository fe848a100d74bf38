"""Use cases of the customer master: registration, edits, ownership, lifecycle, portfolio.

Each takes a session inside the caller's transaction and writes its events to the
outbox in that same transaction. Grading, care and imports live in their own modules
and use the helpers here (`get_visible`, `record`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CareActivityClosed,
    CareActivityPlanned,
    CustomerDeactivated,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    CustomerUpdated,
    Envelope,
    LeadQualified,
    OrderPlaced,
    PortfolioReassigned,
    QuoteAccepted,
)
from crm_kit import directory
from crm_kit.auth import Role, User
from crm_kit.bus import Transient
from crm_kit.db import Database, table_of
from crm_kit.http import PageParams
from crm_kit.outbox import emit, emit_many
from crm_kit.queries import fetch_page, one_visible, visible_to
from crm_kit.text import fold, normalize_email, normalize_vn_phone

from . import domain
from .models import Activity, Customer, TimelineEntry
from .schemas import CustomerCreate, CustomerPatch

#: Roles that may own customers.
OWNER_ROLES = frozenset({Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN})


class NotFound(Exception):
    def __init__(self, kind: str, key: object) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} {key} not found")


class Conflict(Exception):
    """The request is valid but the record's state does not allow it (409)."""


class Unprocessable(Exception):
    """A request that passed the schema but not a rule needing the database (422).

    `problems`: (location, message) pairs, located like FastAPI's own errors.
    """

    def __init__(self, problems: Sequence[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(m for _, m in self.problems))


def now() -> datetime:
    return datetime.now(UTC)


# -- reading ---------------------------------------------------------------------------


#: A customer by its id: the read behind every customer page (`read_visible`).
_CUSTOMERS = table_of(Customer)
_BY_ID = select(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("id"))


async def read_visible(db: Database, customer_id: uuid.UUID, user: User) -> Row[Any]:
    """The customer's row if the caller may see it, read without a transaction or an
    ORM session (`Database.read_row`); a stranger's record is 'not found'."""
    row = await db.read_row(_BY_ID, {"id": customer_id})
    if row is None or not user.can_see(row.owner_id):
        raise NotFound("customer", customer_id)
    return row


async def get_visible(
    session: AsyncSession, customer_id: uuid.UUID, user: User, *, for_update: bool = False
) -> Customer:
    """The customer if the caller may see it; a stranger's record is 'not found'."""
    customer = await one_visible(
        session, select(Customer).where(Customer.id == customer_id), user, lock=for_update
    )
    if customer is None:
        raise NotFound("customer", customer_id)
    return customer


async def list_visible(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    stage: domain.Stage | None = None,
    grade: str | None = None,
    owner_id: uuid.UUID | None = None,
    region_code: str | None = None,
    q: str | None = None,
) -> tuple[list[Customer], int]:
    stmt = visible_to(select(Customer), Customer.owner_id, user)
    if stage is not None:
        stmt = stmt.where(Customer.lifecycle_stage == stage)
    if grade is not None:
        stmt = stmt.where(Customer.grade == grade)
    if owner_id is not None:
        stmt = stmt.where(Customer.owner_id == owner_id)
    if region_code is not None:
        stmt = stmt.where(Customer.region_code == region_code)
    if q:
        # "hoa phat" finds "Công ty Hòa Phát"; a phone or e-mail finds its customer.
        matches = [Customer.name_folded.contains(fold(q), autoescape=True)]
        if phone := normalize_vn_phone(q):
            matches.append(Customer.phone == phone)
        if "@" in q:
            matches.append(Customer.email == normalize_email(q))
        stmt = stmt.where(or_(*matches))
    return await fetch_page(session, stmt, page, Customer.created_at.desc(), Customer.id)


async def timeline(session: AsyncSession, customer_id: uuid.UUID, user: User) -> list[TimelineEntry]:
    await get_visible(session, customer_id, user)
    rows = await session.execute(
        select(TimelineEntry).where(TimelineEntry.customer_id == customer_id).order_by(TimelineEntry.id)
    )
    return list(rows.scalars())


# -- registering -----------------------------------------------------------------------


def new_customer(*, name: str, **fields: Any) -> Customer:
    return Customer(
        id=fields.pop("id", None) or uuid.uuid4(), name=name, name_folded=fold(name)[:200], **fields
    )


def registered_event(customer: Customer) -> CustomerRegistered:
    return CustomerRegistered(
        customer_id=customer.id,
        name=customer.name,
        lifecycle_stage=domain.Stage(customer.lifecycle_stage).value,
        owner_id=customer.owner_id,
        region_code=customer.region_code,
        channel_id=customer.channel_id,
        grade=customer.grade,
    )


def promoted_event(customer: Customer) -> CustomerPromotedToTraditional:
    assert customer.promoted_at is not None
    return CustomerPromotedToTraditional(
        customer_id=customer.id,
        name=customer.name,
        owner_id=customer.owner_id,
        region_code=customer.region_code,
        channel_id=customer.channel_id,
        promoted_at=customer.promoted_at,
    )


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


async def register_prospect(session: AsyncSession, data: CustomerCreate, user: User) -> Customer:
    customer = new_customer(**data.model_dump(), owner_id=user.id, lifecycle_stage=domain.Stage.PROSPECT)
    session.add(customer)
    await session.flush()
    record(session, customer.id, "registered", user.id, {"stage": customer.lifecycle_stage})
    await emit(session, registered_event(customer), actor=user.id)
    return customer


async def register_from_lead(session: AsyncSession, event: LeadQualified, envelope: Envelope) -> bool:
    """Create the prospect a lead's conversion minted; False if it exists already.

    The id comes from the event, so a second copy of it (or a replay) finds the row
    and does nothing.
    """
    created = await session.execute(
        pg_insert(Customer)
        .values(
            id=event.customer_id,
            name=event.name[:200],
            name_folded=fold(event.name)[:200],
            contact_name=event.contact_name[:200] or None,
            # A number that is not Vietnamese is kept as given rather than lost.
            phone=normalize_vn_phone(event.phone) or (event.phone or None),
            email=normalize_email(event.email),
            region_code=event.region_code,
            channel_id=event.channel_id,
            owner_id=event.owner_id,
            lifecycle_stage=domain.Stage.PROSPECT.value,
            source=event.source,
            lead_id=event.lead_id,
        )
        .on_conflict_do_nothing(index_elements=[Customer.id])
        .returning(Customer.id)
    )
    if created.first() is None:
        return False
    customer = (await session.execute(select(Customer).where(Customer.id == event.customer_id))).scalar_one()
    record(session, customer.id, "registered", envelope.actor, {"from_lead": str(event.lead_id)})
    await emit(session, registered_event(customer), actor=envelope.actor)
    return True


# -- changing --------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


#: What other services keep a copy of: an edit of one of these is announced (CustomerUpdated).
ANNOUNCED_FIELDS = frozenset({"name", "region_code", "channel_id"})


def updated_event(customer: Customer) -> CustomerUpdated:
    return CustomerUpdated(
        customer_id=customer.id,
        name=customer.name,
        region_code=customer.region_code,
        channel_id=customer.channel_id,
        updated_at=customer.updated_at,
    )


async def update_customer(
    session: AsyncSession, customer_id: uuid.UUID, patch: CustomerPatch, user: User
) -> Customer:
    """Apply the fields sent; the timeline gets `{field: [old, new]}` for each that changed,
    and other services hear of it when their copy changed."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    diff: dict[str, list[Any]] = {}
    for field, new in sorted(patch.changes().items()):
        old = getattr(customer, field)
        if old != new:
            diff[field] = [_jsonable(old), _jsonable(new)]
            setattr(customer, field, new)
    if not diff:
        return customer
    if "name" in diff:
        customer.name_folded = fold(customer.name)[:200]
    customer.updated_at = now()
    record(session, customer.id, "updated", user.id, diff)
    if ANNOUNCED_FIELDS.intersection(diff):
        await emit(session, updated_event(customer), actor=user.id)
    await session.flush()
    return customer


async def active_owner(session: AsyncSession, owner_id: uuid.UUID) -> directory.StaffMember:
    member = await directory.by_id(session, owner_id)
    if member is None or not member.active:
        raise Unprocessable([(("body", "owner_id"), f"{owner_id} is not an active member of staff")])
    if member.role not in OWNER_ROLES:
        raise Unprocessable([(("body", "owner_id"), f"a {member.role} cannot own customers")])
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
    move = {"from": _jsonable(previous), "to": str(owner_id)}
    record(session, customer.id, "owner_changed", user.id, move)
    planned = (
        await session.execute(
            select(Activity)
            .where(Activity.customer_id == customer.id, Activity.status == "planned")
            .order_by(Activity.due_on, Activity.id)
            .with_for_update()
        )
    ).scalars()
    moved: list[CareActivityPlanned] = []
    for activity in planned:
        before = activity.assignee_id
        activity.assignee_id = owner_id
        record(
            session, customer.id, "activity_reassigned", user.id, {**move, "activity_id": str(activity.id)}
        )
        # The reminder follows the work to its new owner.
        moved.append(activity_planned_event(activity, customer.name, previous_owner_id=before))
    await emit_many(session, moved, actor=user.id)
    await emit(
        session,
        CustomerReassigned(
            customer_id=customer.id, from_owner_id=previous, to_owner_id=owner_id, reassigned_at=at
        ),
        actor=user.id,
    )
    await session.flush()
    return customer


async def deactivate(session: AsyncSession, customer_id: uuid.UUID, reason: str, user: User) -> Customer:
    """Mark the customer inactive (never deleted); idempotent. Planned care is cancelled."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    current = domain.Stage(customer.lifecycle_stage)
    if not domain.deactivation(current):
        return customer
    at = now()
    customer.lifecycle_stage = domain.Stage.INACTIVE
    customer.updated_at = at
    record(
        session,
        customer.id,
        "stage_changed",
        user.id,
        {"from": current.value, "to": domain.Stage.INACTIVE.value, "reason": reason},
    )
    cancelled = await session.execute(
        update(Activity)
        .where(Activity.customer_id == customer.id, Activity.status == "planned")
        .values(
            status="cancelled",
            cancel_reason=f"customer deactivated: {reason}",
            closed_at=at,
            closed_by=user.id,
        )
        .returning(Activity.id, Activity.assignee_id)
    )
    closed: list[CareActivityClosed] = []
    for activity_id, assignee_id in cancelled.all():
        record(
            session,
            customer.id,
            "activity_cancelled",
            user.id,
            {"activity_id": str(activity_id), "reason": "customer deactivated"},
        )
        closed.append(
            CareActivityClosed(
                customer_id=customer.id,
                activity_id=activity_id,
                owner_id=assignee_id,
                status="cancelled",
                closed_at=at,
            )
        )
    await emit_many(session, closed, actor=user.id)
    await emit(
        session, CustomerDeactivated(customer_id=customer.id, reason=reason, deactivated_at=at), actor=user.id
    )
    await session.flush()
    return customer


async def promote(session: AsyncSession, customer_id: uuid.UUID, user: User) -> Customer:
    """Make the customer traditional; idempotent (a second call changes nothing)."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    await _promote(session, customer, user.id, {})
    return customer


async def promote_on_acceptance(session: AsyncSession, event: QuoteAccepted, envelope: Envelope) -> None:
    """A customer who accepted a quote is traditional (a successful sale): promote a
    prospect, or bring back an inactive one. Sales places the order on the promotion."""
    customer = await session.get(Customer, event.customer_id, with_for_update=True)
    if customer is None:
        raise Transient(f"customer {event.customer_id} is not known here yet")
    record(
        session,
        customer.id,
        "quote_accepted",
        envelope.actor,
        {"quote_id": str(event.quote_id), "quote_number": event.quote_number, "total": event.total},
    )
    await _promote(session, customer, envelope.actor, {"quote_id": str(event.quote_id)})


async def _promote(
    session: AsyncSession, customer: Customer, actor: uuid.UUID | None, why: dict[str, Any]
) -> None:
    if not domain.promotion(domain.Stage(customer.lifecycle_stage)):
        return
    previous = customer.lifecycle_stage
    customer.lifecycle_stage = domain.Stage.TRADITIONAL
    customer.promoted_at = now()
    customer.updated_at = customer.promoted_at
    record(session, customer.id, "stage_changed", actor, {"from": previous, "to": "traditional", **why})
    await emit(session, promoted_event(customer), actor=actor)
    await session.flush()


async def record_sales_event(
    session: AsyncSession, customer_id: uuid.UUID, kind: str, actor: uuid.UUID | None, detail: dict[str, Any]
) -> None:
    """A quote decision or an order in the customer's timeline (the customer 360 view)."""
    if await session.get(Customer, customer_id) is None:
        raise Transient(f"customer {customer_id} is not known here yet")
    record(session, customer_id, kind, actor, detail)


async def record_purchase(session: AsyncSession, event: OrderPlaced, envelope: Envelope) -> None:
    customer = await session.get(Customer, event.customer_id, with_for_update=True)
    if customer is None:
        raise Transient(f"customer {event.customer_id} is not known here yet")
    if customer.last_purchase_at is None or customer.last_purchase_at < event.placed_at:
        customer.last_purchase_at = event.placed_at
        customer.last_order_total = event.total
    record(
        session,
        customer.id,
        "order_placed",
        envelope.actor,
        {"order_id": str(event.order_id), "order_number": event.order_number, "total": event.total},
    )


# -- portfolio -------------------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    customers: int
    planned_activities: int


async def reassign_portfolio(session: AsyncSession, event: PortfolioReassigned, envelope: Envelope) -> Moved:
    """Every customer of the leaving owner (whatever its stage) and every planned
    activity assigned to them move to the new owner, each move in a timeline."""
    source, target, actor = event.from_user_id, event.to_user_id, envelope.actor
    if source == target:
        return Moved(customers=0, planned_activities=0)
    at = now()
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
        .where(Activity.assignee_id == source, Activity.status == "planned")
        .values(assignee_id=target)
        .returning(Activity)
        .execution_options(synchronize_session=False)
    )
    activities = list(moved.scalars())
    moves = {"from": str(source), "to": str(target), "via": "portfolio_reassigned"}
    entries = [
        {"customer_id": cid, "kind": "owner_changed", "actor_id": actor, "detail": moves} for cid in customers
    ] + [
        {
            "customer_id": activity.customer_id,
            "kind": "activity_reassigned",
            "actor_id": actor,
            "detail": {**moves, "activity_id": str(activity.id)},
        }
        for activity in activities
    ]
    if entries:
        await session.execute(insert(TimelineEntry), entries)
    for cid in customers:
        await emit(
            session,
            CustomerReassigned(
                customer_id=cid, from_owner_id=source, to_owner_id=target, reassigned_at=event.reassigned_at
            ),
            actor=actor,
        )
    if activities:
        # The reminders follow the work to its new owner.
        named = await session.execute(
            select(Customer.id, Customer.name).where(Customer.id.in_({a.customer_id for a in activities}))
        )
        names = {customer_id: name for customer_id, name in named.all()}
        await emit_many(
            session,
            [activity_planned_event(a, names[a.customer_id], previous_owner_id=source) for a in activities],
            actor=actor,
        )
    return Moved(customers=len(customers), planned_activities=len(activities))


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """What the member of staff still holds here: zero everywhere after a hand-over."""
    customers = await session.scalar(select(func.count()).where(Customer.owner_id == user_id))
    planned = await session.scalar(
        select(func.count()).where(Activity.assignee_id == user_id, Activity.status == "planned")
    )
    return {"customers": customers or 0, "planned_activities": planned or 0}


# -- the audit trail -------------------------------------------------------------------


def record(
    session: AsyncSession, customer_id: uuid.UUID, kind: str, actor: uuid.UUID | None, detail: dict[str, Any]
) -> None:
    session.add(TimelineEntry(customer_id=customer_id, kind=kind, actor_id=actor, detail=detail))
