"""Use cases of grading: questionnaires and their versions, assessments, re-grading reviews."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CustomerGraded
from crm_kit import errors
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.outbox import emit
from crm_kit.queries import fetch_page, visible_to

from . import domain
from .domain import Stage, TimelineKind
from .models import AssessmentRecord, Customer, Questionnaire
from .records import get_visible, now, refuse_inactive
from .schemas import AssessmentIn, QuestionnaireIn, QuestionnaireOut
from .timeline import record

# -- questionnaires --------------------------------------------------------------------


def _definition(body: QuestionnaireIn) -> dict[str, Any]:
    return {
        "name": body.name,
        "scheme_kind": body.scheme.kind.value,
        "grades": [g.model_dump() for g in body.scheme.grades],
        "criteria": [c.model_dump(exclude_none=True) for c in body.criteria],
    }


async def create_questionnaire(session: AsyncSession, body: QuestionnaireIn, user: User) -> Questionnaire:
    """Version 1 of a new questionnaire family."""
    first = uuid.uuid4()
    questionnaire = Questionnaire(
        id=first, family_id=first, version=1, created_by=user.id, **_definition(body)
    )
    session.add(questionnaire)
    await session.flush()
    return questionnaire


async def new_version(
    session: AsyncSession, questionnaire_id: uuid.UUID, body: QuestionnaireIn, user: User
) -> Questionnaire:
    """Version n+1 of the family `questionnaire_id` (any of its versions) belongs to.

    Earlier versions stay as they are, with their assessments; new assessments use
    the new one.
    """
    known = await get_questionnaire(session, questionnaire_id)
    # Two new versions at once take turns on the family's first row; the latest is read
    # after the lock, so the second one sees the first one's version and follows it.
    await session.execute(
        select(Questionnaire.id).where(Questionnaire.id == known.family_id).with_for_update()
    )
    latest = (
        await session.execute(
            select(Questionnaire)
            .where(Questionnaire.family_id == known.family_id)
            .order_by(Questionnaire.version.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    questionnaire = Questionnaire(
        id=uuid.uuid4(),
        family_id=known.family_id,
        version=latest.version + 1,
        created_by=user.id,
        **_definition(body),
    )
    session.add(questionnaire)
    await session.flush()
    latest.superseded_by = questionnaire.id
    await session.flush()
    return questionnaire


async def get_questionnaire(session: AsyncSession, questionnaire_id: uuid.UUID) -> Questionnaire:
    found = await session.get(Questionnaire, questionnaire_id)
    if found is None:
        raise errors.NotFound("questionnaire", questionnaire_id)
    return found


async def list_questionnaires(
    session: AsyncSession, page: PageParams, *, all_versions: bool
) -> tuple[list[Questionnaire], int]:
    stmt = select(Questionnaire)
    if not all_versions:
        stmt = stmt.where(Questionnaire.superseded_by.is_(None))
    return await fetch_page(
        session, stmt, page, Questionnaire.name, Questionnaire.family_id, Questionnaire.version
    )


def questionnaire_out(q: Questionnaire) -> QuestionnaireOut:
    return QuestionnaireOut.model_validate(
        {
            "id": q.id,
            "family_id": q.family_id,
            "version": q.version,
            "name": q.name,
            "scheme": {"kind": q.scheme_kind, "grades": q.grades},
            "criteria": q.criteria,
            "created_by": q.created_by,
            "created_at": q.created_at,
            "superseded_by": q.superseded_by,
            "latest": q.superseded_by is None,
        }
    )


def bands(q: Questionnaire) -> list[domain.GradeBand]:
    return [domain.GradeBand(**g) for g in q.grades]


def criteria(q: Questionnaire) -> list[domain.Criterion]:
    result = []
    for c in q.criteria:
        options = c.get("options")
        span = c.get("range")
        result.append(
            domain.Criterion(
                key=c["key"],
                weight=c["weight"],
                options=tuple(domain.Option(o["value"], o["points"]) for o in options) if options else None,
                range=domain.NumericRange(**span) if span else None,
            )
        )
    return result


# -- assessments -----------------------------------------------------------------------


async def assess(
    session: AsyncSession, customer_id: uuid.UUID, body: AssessmentIn, user: User, *, today: date
) -> AssessmentRecord:
    """Grade the customer with the questionnaire; the grade sets the next review date."""
    customer = await get_visible(session, customer_id, user, for_update=True)
    refuse_inactive(customer)
    questionnaire = await _latest_version(session, body.questionnaire_id)
    # Unanswered, unknown or invalid answers: InvalidAnswers, a 422 naming each one.
    result = domain.assess(criteria(questionnaire), bands(questionnaire), body.answers)
    assessment = AssessmentRecord(
        id=uuid.uuid4(),
        customer_id=customer.id,
        questionnaire_id=questionnaire.id,
        questionnaire_family_id=questionnaire.family_id,
        questionnaire_version=questionnaire.version,
        answers=body.answers,
        points=result.points,
        score=result.score,
        grade=result.grade.name,
        previous_grade=customer.grade,
        graded_at=now(),
        next_review_on=domain.next_review_on(today, result.grade),
        assessed_by=user.id,
    )
    session.add(assessment)
    _regrade(customer, questionnaire, assessment, result.grade)
    record(
        session,
        customer.id,
        TimelineKind.GRADED,
        user.id,
        {
            "grade": assessment.grade,
            "previous_grade": assessment.previous_grade,
            "score": float(result.score),
        },
    )
    await emit(session, graded_event(customer, assessment), actor=user.id)
    await session.flush()
    return assessment


async def _latest_version(session: AsyncSession, questionnaire_id: uuid.UUID) -> Questionnaire:
    """The questionnaire to grade with: it must exist and be its family's latest version."""
    questionnaire = await session.get(Questionnaire, questionnaire_id)
    if questionnaire is None:
        raise errors.Invalid.at(
            ("body", "questionnaire_id"),
            f"no questionnaire {questionnaire_id}",
            code="questionnaire.unknown",
            params={"questionnaire": str(questionnaire_id)},
        )
    if questionnaire.superseded_by is not None:
        raise errors.Conflict(
            f"questionnaire {questionnaire.name!r} version {questionnaire.version} has been replaced; "
            f"grade with its latest version",
            code="questionnaire.superseded",
            params={"name": questionnaire.name, "version": questionnaire.version},
        )
    return questionnaire


def _regrade(
    customer: Customer, questionnaire: Questionnaire, assessment: AssessmentRecord, grade: domain.GradeBand
) -> None:
    """The customer's current grade, and the care cadence and review date it brings."""
    customer.grade = assessment.grade
    customer.graded_at = assessment.graded_at
    customer.next_review_on = assessment.next_review_on
    customer.grade_questionnaire_id = questionnaire.id
    customer.grade_questionnaire_version = questionnaire.version
    customer.care_cadence_days = grade.care_cadence_days
    customer.updated_at = assessment.graded_at


def graded_event(customer: Customer, assessment: AssessmentRecord) -> CustomerGraded:
    return CustomerGraded(
        customer_id=customer.id,
        assessment_id=assessment.id,
        questionnaire_id=assessment.questionnaire_id,
        questionnaire_version=assessment.questionnaire_version,
        score=float(assessment.score),
        grade=assessment.grade,
        previous_grade=assessment.previous_grade,
        owner_id=customer.owner_id,
        graded_at=assessment.graded_at,
        # The contract types it as a datetime: the review day, at midnight UTC.
        next_review_on=assessment.next_review_on,
    )


async def list_assessments(
    session: AsyncSession, customer_id: uuid.UUID, user: User, page: PageParams
) -> tuple[list[AssessmentRecord], int]:
    await get_visible(session, customer_id, user)
    stmt = select(AssessmentRecord).where(AssessmentRecord.customer_id == customer_id)
    return await fetch_page(session, stmt, page, AssessmentRecord.graded_at.desc(), AssessmentRecord.id)


# -- re-grading ------------------------------------------------------------------------


async def reviews_due(
    session: AsyncSession, user: User, page: PageParams, *, as_of: date
) -> tuple[list[Customer], int]:
    """Graded customers whose review date has come, the most overdue first."""
    stmt = visible_to(select(Customer), Customer.owner_id, user).where(
        Customer.next_review_on <= as_of,
        Customer.lifecycle_stage != Stage.INACTIVE,
    )
    return await fetch_page(session, stmt, page, Customer.next_review_on, Customer.id)
