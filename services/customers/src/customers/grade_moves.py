"""How customers' grades moved between two days, per owner: whether the customers a
salesperson cares for grow (A -> B is down, C -> A up).

A customer's grade on a day is the grade of its last assessment before the day ended;
before its first assessment, the grade that assessment replaced (an import's, say);
with no assessment at all, the grade it has. A customer created after the day had no
grade then (`None`). Counted in one statement over the customers and their assessments.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User

from .models import AssessmentRecord, Customer
from .schemas import GradeMove, GradeMovesOut


def _end_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _grade_at(moment: datetime) -> ColumnElement[str | None]:
    """The grade expression of `Customer` at `moment` (see the module's docstring)."""
    before = (
        select(AssessmentRecord.grade)
        .where(AssessmentRecord.customer_id == Customer.id, AssessmentRecord.graded_at < moment)
        .order_by(AssessmentRecord.graded_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    first_after = (
        select(AssessmentRecord.previous_grade)
        .where(AssessmentRecord.customer_id == Customer.id, AssessmentRecord.graded_at >= moment)
        .order_by(AssessmentRecord.graded_at)
        .limit(1)
        .scalar_subquery()
    )
    assessed_after = (
        select(func.count())
        .where(AssessmentRecord.customer_id == Customer.id, AssessmentRecord.graded_at >= moment)
        .scalar_subquery()
    )
    return case(
        (Customer.created_at >= moment, None),
        (before.is_not(None), before),
        (assessed_after > 0, first_after),
        else_=Customer.grade,
    )


async def grade_moves(
    session: AsyncSession,
    user: User,
    *,
    start: date,
    end: date,
    owner_id: uuid.UUID | None,
    zone: ZoneInfo,
) -> GradeMovesOut:
    """Per owner, how many of their customers (by today's owner) went from one grade on
    `start` to another on `end`, the unchanged included; a salesperson sees their own."""
    if end < start:
        raise errors.Invalid.at(
            ("query", "to"),
            f"{end} is before from {start}",
            code="dates.from_after_to",
            params={"from_date": start, "to_date": end},
        )
    if not user.sees_all:
        owner_id = user.id
    since, until = _end_of(start, zone), _end_of(end, zone)
    moves = await session.execute(_moves(since, until, owner_id))
    rows = [
        GradeMove(
            owner_id=row.owner_id, from_grade=row.from_grade, to_grade=row.to_grade, customers=row.count
        )
        for row in moves
    ]
    return GradeMovesOut(from_=start, to=end, owner_id=owner_id, rows=rows)


def _moves(
    since: datetime, until: datetime, owner_id: uuid.UUID | None
) -> Select[uuid.UUID | None, str | None, str | None, int]:
    before, after = _grade_at(since).label("from_grade"), _grade_at(until).label("to_grade")
    stmt = select(Customer.owner_id, before, after, func.count().label("count")).where(
        Customer.created_at < until
    )
    if owner_id is not None:
        stmt = stmt.where(Customer.owner_id == owner_id)
    return stmt.group_by(Customer.owner_id, before, after).order_by(
        Customer.owner_id, before.nulls_first(), after.nulls_first()
    )
