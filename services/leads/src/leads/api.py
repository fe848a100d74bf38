"""HTTP routes: parse, authorize, call the use case, shape the answer.

Function-level rules are here (who may call a route at all); object-level ones
(a salesperson's own leads only, strangers' leads are 'not found') are in
`search.get_visible`.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, File, Query, UploadFile, status

from crm_kit.auth import CurrentUser, Role, require_roles
from crm_kit.http import Page, Paging
from crm_kit.routes import portfolio_router
from crm_kit.runtime import DbDep, RuntimeDep

from . import (
    campaigns,
    capture,
    domain,
    history,
    importing,
    lifecycle,
    merging,
    owners,
    portfolio,
    reasons,
    search,
)
from .schemas import (
    AssignRequest,
    CampaignOut,
    ContactRequest,
    ConvertOut,
    ConvertRequest,
    DisqualifyRequest,
    EvaluateRequest,
    HistoryOut,
    ImportReport,
    LeadCreate,
    LeadOut,
    LeadUpdate,
    MergeRequest,
    ReasonCreate,
    ReasonOut,
    ReasonUpdate,
)

#: Everyone but accounting uses leads; accountants get 403 on the whole API.
READERS = require_roles(Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN, Role.MARKETING)
#: Marketing captures (campaign leads) and imports, but changes nothing after that.
CAPTURERS = READERS
WORKERS = require_roles(Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)
MANAGERS = require_roles(Role.SALES_MANAGER, Role.ADMIN)

reasons_router = APIRouter(
    prefix="/api/leads/disqualify-reasons", tags=["disqualification reasons"], dependencies=[READERS]
)
router = APIRouter(prefix="/api/leads", tags=["leads"], dependencies=[READERS])
campaigns_router = APIRouter(prefix="/api/leads/campaigns", tags=["campaigns"], dependencies=[READERS])


@campaigns_router.get("")
async def running_campaigns(runtime: RuntimeDep) -> list[CampaignOut]:
    """Campaigns running today (launched by marketing), for a lead's `campaign_id`."""
    today = runtime.settings.today()
    async with runtime.db.transaction() as session:
        return [CampaignOut.model_validate(c) for c in await campaigns.running(session, today)]


# -- disqualification reasons (before /{lead_id}, which would take their path) ----------


@reasons_router.get("")
async def list_reasons(db: DbDep, paging: Paging, active: bool | None = None) -> Page[ReasonOut]:
    """The managed list of reasons a lead is disqualified for; `?active=true` for the current ones."""
    async with db.transaction() as session:
        rows, total = await reasons.list_page(session, paging, active=active)
        return Page(items=[ReasonOut.of(r) for r in rows], total=total)


@reasons_router.post("", status_code=status.HTTP_201_CREATED, dependencies=[MANAGERS])
async def add_reason(body: ReasonCreate, db: DbDep) -> ReasonOut:
    """Add a reason to the managed list, active at once; its code must be new (409)."""
    async with db.transaction() as session:
        return ReasonOut.of(await reasons.add(session, body))


@reasons_router.patch("/{code}", dependencies=[MANAGERS])
async def change_reason(code: str, body: ReasonUpdate, db: DbDep) -> ReasonOut:
    """Retire (`{"active": false}`) or restore a reason, or correct its labels."""
    async with db.transaction() as session:
        return ReasonOut.of(await reasons.change(session, code, body))


# -- leads ---------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[CAPTURERS])
async def capture_lead(body: LeadCreate, user: CurrentUser, db: DbDep) -> LeadOut:
    """Capture a lead owned by the caller (a manager may name the owner). A lead that
    looks like an existing one is refused with 409 and the look-alikes, unless
    `confirm_duplicate` is true."""
    async with db.transaction() as session:
        return LeadOut.of(await capture.capture(session, body, user))


@router.get("")
async def list_leads(
    user: CurrentUser,
    db: DbDep,
    paging: Paging,
    status: Annotated[list[domain.Status] | None, Query()] = None,
    source: domain.Source | None = None,
    owner_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    region_code: Annotated[str | None, Query(max_length=10)] = None,
    q: Annotated[str | None, Query(max_length=100, description="name, company, phone or email")] = None,
) -> Page[LeadOut]:
    """Leads the caller may see: a salesperson their own, managers and marketing all.
    Merged leads only with `?status=merged`."""
    filters = search.LeadFilters(
        statuses=status or (),
        source=source,
        owner_id=owner_id,
        campaign_id=campaign_id,
        region_code=region_code,
        q=q,
    )
    async with db.transaction() as session:
        rows, total = await search.list_page(session, user, paging, filters)
        return Page(items=[LeadOut.of(lead) for lead in rows], total=total)


@router.post("/import", dependencies=[CAPTURERS])
async def import_leads(
    user: CurrentUser,
    db: DbDep,
    file: Annotated[
        UploadFile,
        File(description="a .csv (UTF-8; , ; or tab) or .xlsx file with a header row; at most 5 MB"),
    ],
) -> ImportReport:
    """Import leads from a spreadsheet; answers what was imported and, by row number, what was not."""
    # One byte more than the limit is enough to refuse the file (413).
    content = await file.read(importing.MAX_BYTES + 1)
    # Parsed off the event loop and before a database connection is taken.
    parsed = await asyncio.to_thread(importing.parse, content, file.filename)
    async with db.transaction() as session:
        return await importing.import_leads(session, parsed, user)


@router.get("/{lead_id}")
async def get_lead(lead_id: uuid.UUID, user: CurrentUser, db: DbDep) -> LeadOut:
    """One lead: a salesperson only their own (anyone else's is 'not found'); sales managers,
    admins and marketing any."""
    async with db.transaction() as session:
        return LeadOut.of(await search.get_visible(session, lead_id, user))


@router.patch("/{lead_id}", dependencies=[WORKERS])
async def edit_lead(lead_id: uuid.UUID, body: LeadUpdate, user: CurrentUser, db: DbDep) -> LeadOut:
    """Change contact data or the approach plan of an open lead."""
    async with db.transaction() as session:
        return LeadOut.of(await capture.edit(session, lead_id, body, user))


@router.get("/{lead_id}/history")
async def lead_history(lead_id: uuid.UUID, user: CurrentUser, db: DbDep, paging: Paging) -> Page[HistoryOut]:
    """What was done to the lead, oldest first: `changes` is `{field: [old, new]}`."""
    async with db.transaction() as session:
        rows, total = await history.list_page(session, lead_id, user, paging)
        return Page(items=[HistoryOut.model_validate(h) for h in rows], total=total)


@router.post("/{lead_id}/contact", dependencies=[WORKERS])
async def contact_lead(
    lead_id: uuid.UUID,
    user: CurrentUser,
    db: DbDep,
    body: Annotated[ContactRequest | None, Body()] = None,
) -> LeadOut:
    """new -> contacting."""
    async with db.transaction() as session:
        return LeadOut.of(await lifecycle.contact(session, lead_id, body or ContactRequest(), user))


@router.post("/{lead_id}/evaluate", dependencies=[WORKERS])
async def evaluate_lead(lead_id: uuid.UUID, body: EvaluateRequest, user: CurrentUser, db: DbDep) -> LeadOut:
    """contacting -> evaluated, promising or not."""
    async with db.transaction() as session:
        return LeadOut.of(await lifecycle.evaluate(session, lead_id, body, user))


@router.post("/{lead_id}/disqualify", dependencies=[WORKERS])
async def disqualify_lead(
    lead_id: uuid.UUID, body: DisqualifyRequest, user: CurrentUser, db: DbDep
) -> LeadOut:
    """new, contacting or evaluated -> closed, with a reason from the managed list."""
    async with db.transaction() as session:
        return LeadOut.of(await lifecycle.disqualify(session, lead_id, body, user))


@router.post("/{lead_id}/convert", dependencies=[WORKERS])
async def convert_lead(
    lead_id: uuid.UUID,
    user: CurrentUser,
    db: DbDep,
    body: Annotated[ConvertRequest | None, Body()] = None,
) -> ConvertOut:
    """evaluated (promising) -> converted: mints the prospect customer's id, and the
    opportunity's when one is given; customers and sales create them from LeadQualified."""
    async with db.transaction() as session:
        lead = await lifecycle.convert(session, lead_id, body or ConvertRequest(), user)
        return ConvertOut.model_validate(lead, from_attributes=True)


@router.post("/{lead_id}/assign", dependencies=[MANAGERS])
async def assign_lead(lead_id: uuid.UUID, body: AssignRequest, user: CurrentUser, db: DbDep) -> LeadOut:
    """Give the lead, whatever its status, to another active member of staff who may own leads
    (422 otherwise); recorded in its history. Giving it to its owner changes nothing."""
    async with db.transaction() as session:
        return LeadOut.of(await owners.assign(session, lead_id, body, user))


@router.post("/{lead_id}/merge", dependencies=[WORKERS])
async def merge_leads(lead_id: uuid.UUID, body: MergeRequest, user: CurrentUser, db: DbDep) -> LeadOut:
    """Fold `duplicate_id` into this lead; answers the kept lead."""
    async with db.transaction() as session:
        return LeadOut.of(await merging.merge(session, lead_id, body, user))


routers = [reasons_router, campaigns_router, router, portfolio_router("leads", portfolio.holdings)]
