"""HTTP routes: parse, authorize, call the use case in one transaction, shape the answer.

Who may do what: a salesperson sees and changes only their own customers (anyone
else's is "not found"); sales managers and admins see and change all; marketing and
accountants read all and change nothing (403). Only managers reassign, deactivate,
and define questionnaires.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi import status as codes

from crm_kit.auth import CurrentUser, Role, require_roles
from crm_kit.http import Holdings, Page, Paging
from crm_kit.runtime import DbDep, RuntimeDep

from . import (
    care,
    contacts,
    grade_moves,
    grading,
    imports,
    lapsed,
    lifecycle,
    merging,
    ownership,
    records,
    timeline,
)
from .domain import ActivityStatus, Stage
from .schemas import (
    ActivityCancel,
    ActivityComplete,
    ActivityIn,
    ActivityOut,
    AssessmentIn,
    AssessmentOut,
    AssignOwner,
    CareOverdueOut,
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerCreate,
    CustomerOut,
    CustomerPatch,
    Deactivate,
    GradeMovesOut,
    ImportReport,
    ImportSummary,
    LapsedOut,
    MergeRequest,
    QuestionnaireIn,
    QuestionnaireOut,
    TimelineOut,
)
from .settings import Settings

SELLERS = require_roles(Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)
MANAGERS = require_roles(Role.SALES_MANAGER, Role.ADMIN)

customers = APIRouter(prefix="/api/customers", tags=["customers"])
questionnaires = APIRouter(prefix="/api/questionnaires", tags=["grading"])
activities = APIRouter(prefix="/api/activities", tags=["care"])
portfolio = APIRouter(prefix="/api/portfolio", tags=["portfolio"])


async def settings_of(runtime: RuntimeDep) -> Settings:
    assert isinstance(runtime.settings, Settings)
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(settings_of)]
AsOf = Annotated[date | None, Query(description="the day to look from (YYYY-MM-DD); default today")]


# -- lists that are not one customer (before /{customer_id}, so they are not taken for ids)


@customers.get("/reviews-due")
async def reviews_due(
    user: CurrentUser, db: DbDep, paging: Paging, settings: SettingsDep, as_of: AsOf = None
) -> Page[CustomerOut]:
    """Customers whose re-grading is due on or before `as_of`, the longest due first."""
    async with db.transaction() as session:
        rows, total = await grading.reviews_due(session, user, paging, as_of=as_of or settings.today())
        return Page(items=[CustomerOut.model_validate(c) for c in rows], total=total)


@customers.get("/grade-migration", response_model_by_alias=True)
async def grade_migration(
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    start: Annotated[date, Query(alias="from", description="the first day (YYYY-MM-DD)")],
    to: Annotated[date, Query(description="the last day (YYYY-MM-DD)")],
    owner_id: uuid.UUID | None = None,
) -> GradeMovesOut:
    """How customers' grades moved between the end of `from` and the end of `to`, per owner
    (today's): one row per owner, grade then and grade now, with how many customers, the
    unchanged included, so a manager sees whether the customers a salesperson cares for
    grow. A grade before a customer's first assessment is the one it replaced; a customer
    created later had none (`null`). A salesperson sees their own customers only."""
    async with db.transaction() as session:
        return await grade_moves.grade_moves(
            session, user, start=start, end=to, owner_id=owner_id, zone=settings.zone
        )


@customers.get("/lapsed")
async def lapsed_customers(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    settings: SettingsDep,
    days: Annotated[int | None, Query(ge=1, le=3650, description="one limit for every grade")] = None,
    grade: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[LapsedOut]:
    """Traditional customers with no order for longer than their grade's limit (settings
    `LAPSED_DAYS_BY_GRADE`, else `LAPSED_AFTER_DAYS`, 90), or than `days` for all; the
    longest without an order first. A salesperson sees their own."""
    async with db.transaction() as session:
        rows, total = await lapsed.lapsed(
            session,
            user,
            paging,
            now=datetime.now(UTC),
            default_days=days or settings.lapsed_after_days,
            days_by_grade={} if days else settings.lapsed_days_by_grade,
            grade=grade,
        )
        items = [
            LapsedOut.model_validate(
                {
                    **CustomerOut.model_validate(c).model_dump(),
                    "days_without_order": d,
                    "lapsed_after_days": n,
                }
            )
            for c, d, n in rows
        ]
        return Page(items=items, total=total)


@customers.get("/care-overdue")
async def care_overdue(
    user: CurrentUser, db: DbDep, paging: Paging, settings: SettingsDep, as_of: AsOf = None
) -> Page[CareOverdueOut]:
    """Customers not contacted within their grade's care cadence (ungraded: the default)."""
    async with db.transaction() as session:
        rows, total = await care.care_overdue(
            session,
            user,
            paging,
            as_of=as_of or settings.today(),
            default_cadence_days=settings.default_care_cadence_days,
            zone=settings.zone,
        )
        items = [
            CareOverdueOut.model_validate(
                {**CustomerOut.model_validate(c).model_dump(), "care_due_on": due, "care_cadence_days": days}
            )
            for c, due, days in rows
        ]
        return Page(items=items, total=total)


@customers.post("/imports", status_code=codes.HTTP_201_CREATED, dependencies=[SELLERS])
async def preview_import(
    file: Annotated[UploadFile, File(description=".csv (UTF-8) or .xlsx, at most 5 MB / 10,000 rows")],
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
) -> ImportReport:
    """Check a file of customers and report row by row; writes no customer until committed."""
    # One byte past the limit is enough to refuse the file, without reading all of it.
    content = await file.read(settings.import_max_bytes + 1)
    file_name = file.filename or "upload.csv"
    # Parsed off the event loop and before a database connection is taken.
    table = await asyncio.to_thread(
        imports.read_table,
        file_name,
        content,
        max_rows=settings.import_max_rows,
        max_bytes=settings.import_max_bytes,
    )
    async with db.transaction() as session:
        upload = await imports.preview(session, file_name, table, user)
        return ImportReport.model_validate(imports.report_out(upload))


@customers.get("/imports")
async def list_imports(user: CurrentUser, db: DbDep, paging: Paging) -> Page[ImportSummary]:
    """Customer imports, newest first: a salesperson's own, everyone's for the other roles;
    each with its report's counts, not its rows."""
    async with db.transaction() as session:
        rows, total = await imports.list_imports(session, user, paging)
        return Page(items=[ImportSummary.model_validate(imports.summary_out(u)) for u in rows], total=total)


@customers.get("/imports/{import_id}")
async def get_import(import_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ImportReport:
    """An import's report row by row, as previewed or, once committed, as written. A salesperson
    sees only the imports they uploaded (anyone else's is 404)."""
    async with db.transaction() as session:
        return ImportReport.model_validate(imports.report_out(await imports.get(session, import_id, user)))


@customers.post("/imports/{import_id}/commit", dependencies=[SELLERS])
async def commit_import(import_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ImportReport:
    """Write the rows that still pass; the answer is the final report. Once only (409 after)."""
    async with db.transaction() as session:
        return ImportReport.model_validate(imports.report_out(await imports.commit(session, import_id, user)))


# -- customers -------------------------------------------------------------------------


@customers.post("", status_code=codes.HTTP_201_CREATED, dependencies=[SELLERS])
async def create_customer(body: CustomerCreate, user: CurrentUser, db: DbDep) -> CustomerOut:
    """Register a prospect owned by the caller."""
    async with db.transaction() as session:
        return CustomerOut.model_validate(await records.register_prospect(session, body, user))


@customers.get("")
async def list_customers(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    lifecycle_stage: Stage | None = None,
    grade: Annotated[str | None, Query(max_length=40)] = None,
    owner_id: uuid.UUID | None = None,
    region_code: Annotated[str | None, Query(max_length=10)] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="name (any diacritics), phone or e-mail")
    ] = None,
) -> Page[CustomerOut]:
    """Customers the caller may see: a salesperson their own, other roles all."""
    async with db.transaction() as session:
        rows, total = await records.list_visible(
            session,
            user,
            paging,
            stage=lifecycle_stage,
            grade=grade,
            owner_id=owner_id,
            region_code=region_code,
            q=q,
        )
        return Page(items=[CustomerOut.model_validate(c) for c in rows], total=total)


@customers.get("/{customer_id}")
async def get_customer(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> CustomerOut:
    """One customer: a salesperson only their own (anyone else's is 'not found'), other roles any."""
    return CustomerOut.model_validate(await records.read_visible(db, customer_id, user))


@customers.patch("/{customer_id}", dependencies=[SELLERS])
async def update_customer(
    customer_id: uuid.UUID, body: CustomerPatch, user: CurrentUser, db: DbDep
) -> CustomerOut:
    """Edit contact data; each change is audited in the timeline as `{field: [old, new]}`.
    A change of the name, region or channel publishes CustomerUpdated."""
    async with db.transaction() as session:
        return CustomerOut.model_validate(await records.update_customer(session, customer_id, body, user))


@customers.get("/{customer_id}/timeline")
async def get_timeline(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> list[TimelineOut]:
    """Everything that happened to the customer, oldest first and not paged: registration or
    import, edits as `{field: [old, new]}`, owner and stage changes, grades, care activities,
    and its quotes' approval, rejection and acceptance and its orders. A customer the caller
    may not see is 404."""
    async with db.transaction() as session:
        await records.get_visible(session, customer_id, user)
        entries = await timeline.of_customer(session, customer_id)
        return [TimelineOut.model_validate(e) for e in entries]


@customers.post("/{customer_id}/promote", dependencies=[SELLERS])
async def promote_customer(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> CustomerOut:
    """Make a prospect traditional (idempotent); publishes CustomerPromotedToTraditional."""
    async with db.transaction() as session:
        return CustomerOut.model_validate(await lifecycle.promote(session, customer_id, user))


@customers.post("/{customer_id}/assign", dependencies=[MANAGERS])
async def assign_customer(
    customer_id: uuid.UUID, body: AssignOwner, user: CurrentUser, db: DbDep
) -> CustomerOut:
    """Give the customer and its planned activities to another active member of staff."""
    async with db.transaction() as session:
        return CustomerOut.model_validate(await ownership.assign(session, customer_id, body.owner_id, user))


@customers.post("/{customer_id}/deactivate", dependencies=[MANAGERS])
async def deactivate_customer(
    customer_id: uuid.UUID, body: Deactivate, user: CurrentUser, db: DbDep
) -> CustomerOut:
    """Mark the customer inactive (kept, never deleted); its planned activities are cancelled.
    Publishes CustomerDeactivated (once: deactivating an inactive customer changes nothing)."""
    async with db.transaction() as session:
        return CustomerOut.model_validate(await records.deactivate(session, customer_id, body.reason, user))


@customers.post("/{customer_id}/merge", dependencies=[MANAGERS])
async def merge_customers(
    customer_id: uuid.UUID, body: MergeRequest, user: CurrentUser, db: DbDep
) -> CustomerOut:
    """Fold `duplicate_id` into this customer, the survivor (sales managers and admins):
    it takes what it lacks of the other's details, and its contacts, care activities,
    grading history and timeline; the merged customer stays, inactive, with
    `merged_into_id`. A merged traditional customer makes a prospect survivor traditional.
    Publishes CustomersMerged, on which sales, accounting and marketing move their records
    of it to the survivor. A customer merged already, or an inactive survivor, is 409."""
    async with db.transaction() as session:
        return CustomerOut.model_validate(await merging.merge(session, customer_id, body, user))


# -- contacts --------------------------------------------------------------------------


@customers.get("/{customer_id}/contacts")
async def list_contacts(customer_id: uuid.UUID, user: CurrentUser, db: DbDep) -> list[ContactOut]:
    """The customer's contacts, the primary one first, then oldest first (not paged)."""
    async with db.transaction() as session:
        return [
            ContactOut.model_validate(c) for c in await contacts.list_contacts(session, customer_id, user)
        ]


@customers.post("/{customer_id}/contacts", status_code=codes.HTTP_201_CREATED, dependencies=[SELLERS])
async def add_contact(customer_id: uuid.UUID, body: ContactIn, user: CurrentUser, db: DbDep) -> ContactOut:
    """Add a person at the customer (phone normalised like the customer's); the first one,
    or one sent with `is_primary: true`, is the primary contact. Recorded in the timeline;
    an inactive customer is 409."""
    async with db.transaction() as session:
        return ContactOut.model_validate(await contacts.add(session, customer_id, body, user))


@customers.patch("/{customer_id}/contacts/{contact_id}", dependencies=[SELLERS])
async def change_contact(
    customer_id: uuid.UUID, contact_id: uuid.UUID, body: ContactPatch, user: CurrentUser, db: DbDep
) -> ContactOut:
    """Edit a contact, or make it the primary one (`is_primary: true`; the one before no
    longer is). Each change is in the timeline as `{field: [old, new]}`."""
    async with db.transaction() as session:
        return ContactOut.model_validate(await contacts.change(session, customer_id, contact_id, body, user))


@customers.delete(
    "/{customer_id}/contacts/{contact_id}", status_code=codes.HTTP_204_NO_CONTENT, dependencies=[SELLERS]
)
async def remove_contact(customer_id: uuid.UUID, contact_id: uuid.UUID, user: CurrentUser, db: DbDep) -> None:
    """Remove a contact (the timeline keeps what it was); when it was the primary one, the
    oldest contact left becomes primary."""
    async with db.transaction() as session:
        await contacts.remove(session, customer_id, contact_id, user)


# -- grading ---------------------------------------------------------------------------


@customers.post("/{customer_id}/assessments", status_code=codes.HTTP_201_CREATED, dependencies=[SELLERS])
async def assess_customer(
    customer_id: uuid.UUID,
    body: AssessmentIn,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
) -> AssessmentOut:
    """Grade the customer with the latest version of a questionnaire."""
    async with db.transaction() as session:
        assessment = await grading.assess(session, customer_id, body, user, today=settings.today())
        return AssessmentOut.model_validate(assessment)


@customers.get("/{customer_id}/assessments")
async def list_assessments(
    customer_id: uuid.UUID, user: CurrentUser, db: DbDep, paging: Paging
) -> Page[AssessmentOut]:
    """The customer's assessments, newest first, each with the questionnaire version used."""
    async with db.transaction() as session:
        rows, total = await grading.list_assessments(session, customer_id, user, paging)
        return Page(items=[AssessmentOut.model_validate(a) for a in rows], total=total)


@questionnaires.post("", status_code=codes.HTTP_201_CREATED, dependencies=[MANAGERS])
async def create_questionnaire(body: QuestionnaireIn, user: CurrentUser, db: DbDep) -> QuestionnaireOut:
    """Version 1 of a new questionnaire."""
    async with db.transaction() as session:
        return grading.questionnaire_out(await grading.create_questionnaire(session, body, user))


@questionnaires.post(
    "/{questionnaire_id}/versions", status_code=codes.HTTP_201_CREATED, dependencies=[MANAGERS]
)
async def new_questionnaire_version(
    questionnaire_id: uuid.UUID, body: QuestionnaireIn, user: CurrentUser, db: DbDep
) -> QuestionnaireOut:
    """The next version of the questionnaire, from its full new definition; earlier
    versions stay as they were, with their assessments."""
    async with db.transaction() as session:
        return grading.questionnaire_out(await grading.new_version(session, questionnaire_id, body, user))


@questionnaires.get("")
async def list_questionnaires(
    user: CurrentUser, db: DbDep, paging: Paging, all_versions: bool = False
) -> Page[QuestionnaireOut]:
    """The latest version of each questionnaire (every version with `all_versions=true`)."""
    async with db.transaction() as session:
        rows, total = await grading.list_questionnaires(session, paging, all_versions=all_versions)
        return Page(items=[grading.questionnaire_out(q) for q in rows], total=total)


@questionnaires.get("/{questionnaire_id}")
async def get_questionnaire(questionnaire_id: uuid.UUID, user: CurrentUser, db: DbDep) -> QuestionnaireOut:
    """One version of a questionnaire by its id, superseded versions included (the assessments
    made with them keep pointing at them)."""
    async with db.transaction() as session:
        return grading.questionnaire_out(await grading.get_questionnaire(session, questionnaire_id))


# -- care ------------------------------------------------------------------------------


@customers.post("/{customer_id}/activities", status_code=codes.HTTP_201_CREATED, dependencies=[SELLERS])
async def plan_activity(
    customer_id: uuid.UUID, body: ActivityIn, user: CurrentUser, db: DbDep
) -> ActivityOut:
    """Plan a call, visit, e-mail, meeting or demo; it is the customer owner's task."""
    async with db.transaction() as session:
        return ActivityOut.model_validate(await care.plan(session, customer_id, body, user))


@customers.get("/{customer_id}/activities")
async def list_customer_activities(
    customer_id: uuid.UUID,
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    status: ActivityStatus | None = None,
) -> Page[ActivityOut]:
    """The customer's care activities, soonest due first, all of them or those with `status`.
    A customer the caller may not see is 404."""
    async with db.transaction() as session:
        rows, total = await care.list_for_customer(session, customer_id, user, paging, status=status)
        return Page(items=[ActivityOut.model_validate(a) for a in rows], total=total)


@customers.post("/{customer_id}/activities/{activity_id}/complete", dependencies=[SELLERS])
async def complete_activity(
    customer_id: uuid.UUID,
    activity_id: uuid.UUID,
    body: ActivityComplete,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
) -> ActivityOut:
    """Done, with its outcome; the customer's last contact moves to that day."""
    async with db.transaction() as session:
        activity = await care.complete(
            session, customer_id, activity_id, body, user, today=settings.today(), zone=settings.zone
        )
        return ActivityOut.model_validate(activity)


@customers.post("/{customer_id}/activities/{activity_id}/cancel", dependencies=[SELLERS])
async def cancel_activity(
    customer_id: uuid.UUID, activity_id: uuid.UUID, body: ActivityCancel, user: CurrentUser, db: DbDep
) -> ActivityOut:
    """Cancel a planned activity, with a reason (409 once it is done or cancelled); recorded in
    the timeline and announced as CareActivityClosed."""
    async with db.transaction() as session:
        return ActivityOut.model_validate(await care.cancel(session, customer_id, activity_id, body, user))


@activities.get("")
async def list_activities(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    status: ActivityStatus | None = None,
    due_before: Annotated[date | None, Query(description="due on or before this day (YYYY-MM-DD)")] = None,
) -> Page[ActivityOut]:
    """The caller's activities (everyone's for managers), soonest due first:
    `?status=planned&due_before=<today>` is today's to-do list, overdue ones included."""
    async with db.transaction() as session:
        rows, total = await care.list_activities(session, user, paging, status=status, due_before=due_before)
        return Page(items=[ActivityOut.model_validate(a) for a in rows], total=total)


# -- portfolio -------------------------------------------------------------------------


@portfolio.get("/{user_id}", dependencies=[MANAGERS])
async def holdings(user_id: uuid.UUID, db: DbDep) -> Holdings:
    """What this service still holds for the member of staff (zero after a hand-over)."""
    async with db.transaction() as session:
        return Holdings(
            service="customers", user_id=user_id, holdings=await ownership.holdings(session, user_id)
        )


routers = [customers, questionnaires, activities, portfolio]
