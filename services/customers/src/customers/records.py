"""Use cases of the customer master: registration, edits, deactivation, search and lists.

Each takes a session inside the caller's transaction and writes its events to the
outbox in that same transaction. The other modules find customers through the
helpers here (`get_visible`, `new_customer`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Row, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CareActivityClosed, CustomerDeactivated, CustomerRegistered, CustomerUpdated
from crm_kit import errors
from crm_kit.auth import User
from crm_kit.db import Database, table_of
from crm_kit.http import PageParams
from crm_kit.outbox import emit, emit_many
from crm_kit.queries import fetch_page, one_visible, visible_to
from crm_kit.text import fold, normalize_email, normalize_vn_phone, normalize_vn_tax_code

from . import domain, duplicates
from .domain import ActivityStatus, Stage, TimelineKind
from .models import Activity, Customer
from .schemas import CustomerCreate, CustomerPatch
from .timeline import jsonable, record


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
        raise errors.NotFound("customer", customer_id)
    return row


async def get_visible(
    session: AsyncSession, customer_id: uuid.UUID, user: User, *, for_update: bool = False
) -> Customer:
    """The customer if the caller may see it; a stranger's record is 'not found'."""
    stmt = select(Customer).where(Customer.id == customer_id)
    customer: Customer = await one_visible(
        session, stmt, user, kind="customer", key=customer_id, lock=for_update
    )
    return customer


def refuse_inactive(customer: Customer) -> None:
    """New care and new grades are for customers still being worked with."""
    if customer.lifecycle_stage == Stage.INACTIVE:
        raise errors.Conflict(
            f"customer {customer.id} is inactive", code="customer.inactive", params={"name": customer.name}
        )


def search_condition(q: str) -> ColumnElement[bool]:
    """What `?q=` matches. The folded name's `LIKE '%q%'` is answered by the trigram index
    (migration 0011); phone, e-mail and tax code by their B-tree indexes."""
    # "hoa phat" finds "Công ty Hòa Phát"; a phone or e-mail finds its customer.
    matches = [Customer.name_folded.contains(fold(q), autoescape=True)]
    if phone := normalize_vn_phone(q):
        matches.append(Customer.phone == phone)
    if "@" in q:
        matches.append(Customer.email == normalize_email(q))
    if tax_code := normalize_vn_tax_code(q):
        # A company's code finds it and its dependent units (`0100233488-001`, ...).
        matches.append(Customer.tax_code == tax_code)
        if "-" not in tax_code:
            matches.append(Customer.tax_code.startswith(f"{tax_code}-", autoescape=True))
    return or_(*matches)


async def list_visible(
    session: AsyncSession,
    user: User,
    page: PageParams,
    *,
    stage: Stage | None = None,
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
        stmt = stmt.where(search_condition(q))
    return await fetch_page(session, stmt, page, Customer.created_at.desc(), Customer.id)


# -- registering -----------------------------------------------------------------------


def new_customer(*, name: str, **fields: Any) -> Customer:
    return Customer(
        id=fields.pop("id", None) or uuid.uuid4(), name=name, name_folded=fold(name)[:200], **fields
    )


class CustomerFacts(Protocol):
    """What the events about a customer carry: a stored `Customer`, or a new one an import
    writes in bulk (`imports.NewCustomer`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def lifecycle_stage(self) -> str: ...
    @property
    def owner_id(self) -> uuid.UUID | None: ...
    @property
    def region_code(self) -> str | None: ...
    @property
    def channel_id(self) -> uuid.UUID | None: ...
    @property
    def grade(self) -> str | None: ...
    @property
    def tax_code(self) -> str | None: ...
    @property
    def legal_name(self) -> str | None: ...
    @property
    def billing_address(self) -> str | None: ...
    @property
    def promoted_at(self) -> datetime | None: ...


def b2b_fields(customer: CustomerFacts) -> dict[str, Any]:
    """What invoices and e-invoices need of the customer, as the events carry it."""
    return {
        "tax_code": customer.tax_code,
        "legal_name": customer.legal_name,
        "billing_address": customer.billing_address,
    }


def registered_event(customer: CustomerFacts) -> CustomerRegistered:
    return CustomerRegistered(
        customer_id=customer.id,
        name=customer.name,
        lifecycle_stage=Stage(customer.lifecycle_stage).value,
        owner_id=customer.owner_id,
        region_code=customer.region_code,
        channel_id=customer.channel_id,
        grade=customer.grade,
        **b2b_fields(customer),
    )


async def refuse_taken_tax_code(
    session: AsyncSession, tax_code: str | None, user: User, *, exclude: uuid.UUID | None = None
) -> None:
    """409 naming the active customer that already has `tax_code` (its name only to a caller
    who may see it). The partial unique index stops a concurrent one."""
    if tax_code is None:
        return
    stmt = select(Customer).where(Customer.tax_code == tax_code, Customer.lifecycle_stage != Stage.INACTIVE)
    if exclude is not None:
        stmt = stmt.where(Customer.id != exclude)
    other = (await session.scalars(stmt.limit(1))).first()
    if other is None:
        return
    shown = {"id": str(other.id), "name": other.name if user.can_see(other.owner_id) else None}
    message = f"tax code {tax_code} belongs to customer {other.id}" + (
        f" ({other.name})" if shown["name"] else ""
    )
    raise errors.Conflict(
        message,
        code="customer.tax_code_taken",
        params={"tax_code": tax_code, "name": shown["name"] or ""},
        detail={"message": message, "tax_code": tax_code, "customer": shown},
    )


async def register_prospect(session: AsyncSession, data: CustomerCreate, user: User) -> Customer:
    await refuse_taken_tax_code(session, data.tax_code, user)
    keys = duplicates.Keys(tax_code=data.tax_code, phone=data.phone, name=fold(data.name)[:200])
    await duplicates.refuse(session, user, keys, confirmed=data.confirm_duplicate)
    fields = data.model_dump(exclude={"confirm_duplicate"})
    customer = new_customer(**fields, owner_id=user.id, lifecycle_stage=Stage.PROSPECT)
    session.add(customer)
    await session.flush()
    record(session, customer.id, TimelineKind.REGISTERED, user.id, {"stage": customer.lifecycle_stage})
    await emit(session, registered_event(customer), actor=user.id)
    return customer


# -- changing --------------------------------------------------------------------------


#: What other services keep a copy of: an edit of one of these is announced (CustomerUpdated).
ANNOUNCED_FIELDS = frozenset(
    {"name", "region_code", "channel_id", "tax_code", "legal_name", "billing_address"}
)


def updated_event(customer: Customer) -> CustomerUpdated:
    return CustomerUpdated(
        customer_id=customer.id,
        name=customer.name,
        region_code=customer.region_code,
        channel_id=customer.channel_id,
        **b2b_fields(customer),
        updated_at=customer.updated_at,
    )


async def update_customer(
    session: AsyncSession, customer_id: uuid.UUID, patch: CustomerPatch, user: User
) -> Customer:
    """Apply the fields sent; the timeline gets `{field: [old, new]}` for each that changed,
    and other services hear of it when their copy changed."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    if "tax_code" in patch.model_fields_set and patch.tax_code != customer.tax_code:
        await refuse_taken_tax_code(session, patch.tax_code, user, exclude=customer.id)
    diff: dict[str, list[Any]] = {}
    for field, new in sorted(patch.changes().items()):
        old = getattr(customer, field)
        if old != new:
            diff[field] = [jsonable(old), jsonable(new)]
            setattr(customer, field, new)
    if not diff:
        return customer
    if "name" in diff:
        customer.name_folded = fold(customer.name)[:200]
    customer.updated_at = now()
    record(session, customer.id, TimelineKind.UPDATED, user.id, diff)
    if ANNOUNCED_FIELDS.intersection(diff):
        await emit(session, updated_event(customer), actor=user.id)
    await session.flush()
    return customer


async def deactivate(session: AsyncSession, customer_id: uuid.UUID, reason: str, user: User) -> Customer:
    """Mark the customer inactive (never deleted); idempotent. Planned care is cancelled."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    current = Stage(customer.lifecycle_stage)
    if not domain.deactivation(current):
        return customer
    at = now()
    customer.lifecycle_stage = Stage.INACTIVE
    customer.updated_at = at
    record(
        session,
        customer.id,
        TimelineKind.STAGE_CHANGED,
        user.id,
        {"from": current.value, "to": Stage.INACTIVE.value, "reason": reason},
    )
    cancelled = await session.execute(
        update(Activity)
        .where(Activity.customer_id == customer.id, Activity.status == ActivityStatus.PLANNED)
        .values(
            status=ActivityStatus.CANCELLED,
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
            TimelineKind.ACTIVITY_CANCELLED,
            user.id,
            {"activity_id": str(activity_id), "reason": "customer deactivated"},
        )
        closed.append(
            CareActivityClosed(
                customer_id=customer.id,
                activity_id=activity_id,
                owner_id=assignee_id,
                status=ActivityStatus.CANCELLED,
                closed_at=at,
            )
        )
    await emit_many(session, closed, actor=user.id)
    await emit(
        session, CustomerDeactivated(customer_id=customer.id, reason=reason, deactivated_at=at), actor=user.id
    )
    await session.flush()
    return customer
