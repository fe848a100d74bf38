"""Merging two records of one business: one is kept (the survivor), the other folded into it.

The survivor takes what it lacks of the other's details, and all of its contacts, care
activities (the planned ones go to the survivor's owner), assessments (grading history)
and timeline; the merged customer is kept, inactive, pointing at the survivor
(`merged_into_id`), so nothing is lost and its id still leads somewhere. A merged
traditional customer makes a prospect survivor traditional (it has bought); an ungraded
survivor takes the merged customer's grade. `CustomersMerged` tells every other service
to move its records the same way.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomersMerged
from crm_kit import errors
from crm_kit.auth import User
from crm_kit.outbox import emit

from . import grading, lifecycle, ownership
from .domain import Stage, TimelineKind
from .models import Activity, AssessmentRecord, Contact, Customer, TimelineEntry
from .records import ANNOUNCED_FIELDS, now, updated_event
from .schemas import MergeRequest
from .timeline import jsonable, record

#: What the survivor takes from the merged customer when it has none.
FILLABLE = (
    "contact_name",
    "phone",
    "email",
    "address",
    "region_code",
    "channel_id",
    "tax_code",
    "legal_name",
    "billing_address",
)

#: The current grade and what it brings, taken by an ungraded survivor.
GRADE = (
    "grade",
    "graded_at",
    "next_review_on",
    "grade_questionnaire_id",
    "grade_questionnaire_version",
    "care_cadence_days",
)

#: The tables whose rows follow a customer into its survivor.
MOVED = (Contact, Activity, AssessmentRecord, TimelineEntry)


async def merge(session: AsyncSession, customer_id: uuid.UUID, data: MergeRequest, user: User) -> Customer:
    """Fold `data.duplicate_id` into `customer_id`; answers the survivor."""
    if data.duplicate_id == customer_id:
        raise errors.Invalid.at(
            ("body", "duplicate_id"),
            "a customer cannot be merged into itself",
            code="customer.merge_into_itself",
        )
    kept, merged = await _both_locked(session, customer_id, data.duplicate_id)
    at = now()
    # The merged customer leaves first: its tax code is free for the survivor to take.
    merged_stage = merged.lifecycle_stage
    merged.lifecycle_stage = Stage.INACTIVE
    merged.merged_into_id = kept.id
    merged.merged_at = merged.updated_at = at
    await session.flush()

    filled = _fill(kept, merged)
    kept.last_contact_at = _latest(kept.last_contact_at, merged.last_contact_at)
    if merged.last_purchase_at and (
        not kept.last_purchase_at or kept.last_purchase_at < merged.last_purchase_at
    ):
        kept.last_purchase_at, kept.last_order_total = merged.last_purchase_at, merged.last_order_total
    kept.updated_at = at
    moved = await _move(session, merged.id, kept.id, keep_primary=await _has_primary(session, kept.id))
    await session.flush()
    # The merged customer's planned care is the survivor's owner's work now.
    moved["reassigned_activities"] = await ownership.hand_planned_care(session, kept, user.id)

    record(
        session,
        kept.id,
        TimelineKind.MERGED,
        user.id,
        {"merged_customer_id": str(merged.id), "merged_name": merged.name, "moved": moved, **filled},
    )
    record(
        session, merged.id, TimelineKind.MERGED_INTO, user.id, {"into": str(kept.id), "stage": merged_stage}
    )
    await session.flush()
    if merged_stage == Stage.TRADITIONAL and kept.lifecycle_stage == Stage.PROSPECT:
        await lifecycle.promote(session, kept.id, user)
    await _take_grade(session, kept, merged, user)
    if ANNOUNCED_FIELDS.intersection(filled):
        await emit(session, updated_event(kept), actor=user.id)
    event = CustomersMerged(
        customer_id=kept.id, merged_customer_id=merged.id, owner_id=kept.owner_id, merged_at=at
    )
    await emit(session, event, actor=user.id)
    return kept


async def _take_grade(session: AsyncSession, kept: Customer, merged: Customer, user: User) -> None:
    """An ungraded survivor takes the merged customer's grade (its assessment moved with
    it), announced as a grading so the copies grade the survivor too."""
    if kept.grade is not None or merged.grade is None:
        return
    for name in GRADE:
        setattr(kept, name, getattr(merged, name))
    assessment = await session.scalar(
        select(AssessmentRecord)
        .where(AssessmentRecord.customer_id == kept.id)
        .order_by(AssessmentRecord.graded_at.desc(), AssessmentRecord.id)
        .limit(1)
    )
    if assessment is not None:
        await emit(session, grading.graded_event(kept, assessment), actor=user.id)


def _latest(a: Any, b: Any) -> Any:
    return max(x for x in (a, b) if x is not None) if a or b else None


def _fill(kept: Customer, merged: Customer) -> dict[str, list[Any]]:
    """Take what the survivor lacks; `{field: [None, new]}` of what it took."""
    filled = {}
    for name in FILLABLE:
        if getattr(kept, name) in (None, "") and getattr(merged, name) not in (None, ""):
            setattr(kept, name, getattr(merged, name))
            filled[name] = [None, jsonable(getattr(kept, name))]
    return filled


async def _has_primary(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Contact.id).where(Contact.customer_id == customer_id, Contact.is_primary).limit(1)
    )
    return found is not None


async def _move(
    session: AsyncSession, source: uuid.UUID, target: uuid.UUID, *, keep_primary: bool
) -> dict[str, int]:
    """Every row of `MOVED` from `source` to `target`; how many of each. The survivor's
    primary contact stays its primary one (the merged one's, if it had none)."""
    if keep_primary:
        await session.execute(update(Contact).where(Contact.customer_id == source).values(is_primary=False))
    counts = {}
    for model in MOVED:
        result = await session.execute(
            update(model)
            .where(model.customer_id == source)
            .values(customer_id=target)
            .execution_options(synchronize_session=False)
        )
        counts[str(model.__tablename__)] = int(result.rowcount)  # type: ignore[attr-defined]
    return counts


async def _both_locked(
    session: AsyncSession, customer_id: uuid.UUID, duplicate_id: uuid.UUID
) -> tuple[Customer, Customer]:
    """The survivor and the merged customer, locked in one order (two opposite merges
    cannot deadlock); neither may have been merged already, nor the survivor be inactive."""
    rows = await session.scalars(
        select(Customer)
        .where(Customer.id.in_([customer_id, duplicate_id]))
        .order_by(Customer.id)
        .with_for_update()
    )
    by_id = {customer.id: customer for customer in rows}
    kept, merged = by_id.get(customer_id), by_id.get(duplicate_id)
    if kept is None:
        raise errors.NotFound("customer", customer_id)
    if merged is None:
        raise errors.NotFound("customer", duplicate_id)
    for customer in (kept, merged):
        if customer.merged_into_id is not None:
            raise errors.Conflict(
                f"customer {customer.id} was merged into {customer.merged_into_id} already",
                code="customer.already_merged",
                params={"customer": str(customer.id), "merged_into": str(customer.merged_into_id)},
            )
    if kept.lifecycle_stage == Stage.INACTIVE:
        raise errors.Conflict(
            f"customer {kept.id} is inactive; merge into an active customer",
            code="customer.merge_into_inactive",
            params={"customer": str(kept.id)},
        )
    return kept, merged
