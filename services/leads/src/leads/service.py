"""Use cases of the leads service. Each takes a session inside the caller's
transaction, audits what it changed in `lead_history`, and writes its events to
the outbox in that same transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    String,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CampaignLaunched, LeadCaptured, LeadDisqualified, LeadQualified
from crm_kit import directory, errors
from crm_kit.auth import Role, User
from crm_kit.http import PageParams
from crm_kit.outbox import emit, emit_many
from crm_kit.queries import fetch_page, one_visible, visible_to
from crm_kit.text import fold, normalize_vn_phone

from . import domain, importing
from .domain import MatchKeys, MatchKind, Status
from .models import Campaign, DisqualifyReason, Lead, LeadHistory
from .schemas import (
    AssignRequest,
    ContactRequest,
    ConvertRequest,
    DisqualifyRequest,
    DuplicateOut,
    EvaluateRequest,
    ImportDuplicate,
    ImportRejected,
    ImportReport,
    LeadCreate,
    LeadUpdate,
    MergeRequest,
    ReasonCreate,
    ReasonUpdate,
)

#: Roles that give leads to others: capture for someone, assign, import for someone.
MANAGERS = frozenset({Role.SALES_MANAGER, Role.ADMIN})
#: Roles that may own a lead (an accountant cannot work one).
OWNER_ROLES = frozenset({Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN, Role.MARKETING})

#: Advisory-lock classes for the duplicate check, which reads then writes: captures
#: and edits hold the first shared and lock each key they write; an import holds it
#: exclusively (a file can have thousands of keys, too many to lock one by one).
_DEDUPE_ALL = 730_001
_DEDUPE_KEY = 730_002

#: Fields the audit trail follows, as `{field: [old, new]}`.
TRACKED = (
    "full_name",
    "company",
    "phone",
    "email",
    "source",
    "region_code",
    "channel_id",
    "campaign_id",
    "owner_id",
    "status",
    "planned_contact_on",
    "planned_channel",
    "plan_note",
    "contact_note",
    "promising",
    "evaluation_note",
    "disqualify_reason",
    "disqualify_note",
    "customer_id",
    "opportunity_id",
    "merged_into_id",
)
#: What an edit may change (the rest changes only through its own operation).
EDITABLE = ("full_name", "company", "phone", "email", "region_code", "channel_id", "campaign_id")
#: What a merge fills in on the kept lead when it is empty there.
FILLABLE = (
    "company",
    "phone",
    "email",
    "region_code",
    "channel_id",
    "campaign_id",
    "planned_contact_on",
    "planned_channel",
    "plan_note",
)


# -- errors ------------------------------------------------------------------------


class UnknownStaff(Exception):
    """A member of staff the directory has not heard of (yet)."""


# -- helpers ----------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _snapshot(lead: Lead) -> dict[str, Any]:
    return {name: _jsonable(getattr(lead, name)) for name in TRACKED}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _record(
    session: AsyncSession,
    lead_id: uuid.UUID,
    action: str,
    actor: uuid.UUID | None,
    changes: dict[str, list[Any]],
    at: datetime | None = None,
) -> None:
    session.add(LeadHistory(lead_id=lead_id, action=action, actor_id=actor, changes=changes, at=at or _now()))


def _keys(lead: Lead) -> MatchKeys:
    return MatchKeys(
        phone=lead.phone_normalized,
        email=lead.email,
        company_name=(lead.company_folded, lead.name_folded) if lead.company_folded else None,
    )


def _derive(lead: Lead) -> None:
    """Keep the matching and search forms in step with what people typed."""
    lead.phone_normalized = normalize_vn_phone(lead.phone) if lead.phone else None
    lead.name_folded = fold(lead.full_name)
    lead.company_folded = fold(lead.company)


def _new_lead(data: LeadCreate, owner_id: uuid.UUID, now: datetime) -> Lead:
    plan = data.approach_plan
    lead = Lead(
        id=uuid.uuid4(),
        full_name=data.full_name,
        company=data.company,
        phone=data.phone,
        email=data.email,
        source=data.source,
        region_code=data.region_code,
        channel_id=data.channel_id,
        campaign_id=data.campaign_id,
        owner_id=owner_id,
        status=Status.NEW.value,
        planned_contact_on=plan.planned_contact_on if plan else None,
        planned_channel=plan.planned_channel if plan else None,
        plan_note=plan.note if plan else None,
        created_at=now,
        updated_at=now,
    )
    _derive(lead)
    return lead


def _captured(lead: Lead) -> LeadCaptured:
    return LeadCaptured(
        lead_id=lead.id,
        owner_id=lead.owner_id,
        source=lead.source,  # type: ignore[arg-type]  # validated on the way in
        full_name=lead.full_name,
        company=lead.company,
        region_code=lead.region_code,
        channel_id=lead.channel_id,
        campaign_id=lead.campaign_id,
        captured_at=lead.created_at,
    )


def _entry(lead: Lead, action: str, actor: User) -> dict[str, Any]:
    """The history row of a lead entering the pipeline: every value it came with."""
    changes = {k: [None, v] for k, v in _snapshot(lead).items() if v is not None}
    return {
        "lead_id": lead.id,
        "at": lead.created_at,
        "actor_id": actor.id,
        "action": action,
        "changes": changes,
    }


async def _check_owner(session: AsyncSession, owner_id: uuid.UUID, field: str = "owner_id") -> None:
    member = await directory.by_id(session, owner_id)
    if member is None or not member.active:
        raise errors.Invalid.at(("body", field), f"{owner_id} is not an active member of staff")
    if member.role not in OWNER_ROLES:
        raise errors.Invalid.at(
            ("body", field), f"{member.username} is {member.role or 'not staff'}, who cannot own leads"
        )


async def get_visible(
    session: AsyncSession, lead_id: uuid.UUID, user: User, *, for_update: bool = False
) -> Lead:
    """The lead if the caller may see it; a stranger's lead is 'not found'."""
    lead = await one_visible(session, select(Lead).where(Lead.id == lead_id), user, lock=for_update)
    if lead is None:
        raise errors.NotFound("lead", lead_id)
    return lead


# -- duplicates --------------------------------------------------------------------


async def _lock_keys(session: AsyncSession, keys: MatchKeys) -> None:
    await session.execute(select(func.pg_advisory_xact_lock_shared(_DEDUPE_ALL, 0)))
    for key in sorted(keys.lookups()):
        await session.execute(select(func.pg_advisory_xact_lock(_DEDUPE_KEY, func.hashtext(key))))


async def find_duplicates(
    session: AsyncSession, keys: MatchKeys, *, exclude: uuid.UUID | None = None, limit: int = 20
) -> list[tuple[Lead, list[MatchKind]]]:
    """Leads (not merged ones) that look like the same person, and on what."""
    conditions = []
    if keys.phone:
        conditions.append(Lead.phone_normalized == keys.phone)
    if keys.email:
        conditions.append(Lead.email == keys.email)
    if keys.company_name:
        company, name = keys.company_name
        conditions.append(and_(Lead.company_folded == company, Lead.name_folded == name))
    if not conditions:
        return []
    stmt = select(Lead).where(or_(*conditions), Lead.status != Status.MERGED.value)
    if exclude is not None:
        stmt = stmt.where(Lead.id != exclude)
    rows = await session.execute(stmt.order_by(Lead.created_at, Lead.id).limit(limit))
    return [(lead, domain.matched_on(keys, _keys(lead))) for lead in rows.scalars()]


def _shown_to(user: User, found: list[tuple[Lead, list[MatchKind]]]) -> list[dict[str, Any]]:
    """A lead the caller may not see still blocks, but shows only that it exists."""
    out = []
    for lead, on in found:
        shown = DuplicateOut(
            id=lead.id,
            status=Status(lead.status),
            matched_on=on,
            full_name=lead.full_name,
            company=lead.company,
            phone=lead.phone,
            email=lead.email,
            owner_id=lead.owner_id,
        )
        limited = None if user.can_see(lead.owner_id) else {"id", "status", "matched_on"}
        out.append(shown.model_dump(mode="json", include=limited))
    return out


async def _refuse_duplicates(
    session: AsyncSession, user: User, keys: MatchKeys, *, confirmed: bool, exclude: uuid.UUID | None = None
) -> None:
    if not keys or confirmed:
        return
    await _lock_keys(session, keys)
    found = await find_duplicates(session, keys, exclude=exclude)
    if found:
        duplicates = _shown_to(user, found)
        raise errors.Conflict(
            "possible duplicates", detail={"message": "possible duplicates", "duplicates": duplicates}
        )


# -- capture, read, edit -------------------------------------------------------------


async def capture(session: AsyncSession, data: LeadCreate, user: User) -> Lead:
    """A new lead, owned by the caller unless a manager names someone."""
    owner_id = data.owner_id or user.id
    if owner_id != user.id and user.role not in MANAGERS:
        raise errors.Forbidden("only a sales manager or an admin may capture a lead for someone else")
    await _check_owner(session, owner_id)
    lead = _new_lead(data, owner_id, _now())
    await _refuse_duplicates(session, user, _keys(lead), confirmed=data.confirm_duplicate)
    session.add(lead)
    await session.flush()
    await session.execute(insert(LeadHistory), [_entry(lead, "captured", user)])
    await emit(session, _captured(lead), actor=user.id)
    return lead


@dataclass(frozen=True)
class LeadFilters:
    statuses: Sequence[Status] = ()
    source: str | None = None
    owner_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    region_code: str | None = None
    q: str | None = None


_PHONEISH = re.compile(r"[0-9+\s.\-()/]+")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(q: str) -> Any:
    conditions = []
    folded = fold(q)
    if folded:
        conditions += [
            Lead.name_folded.like(_like(folded), escape="\\"),
            Lead.company_folded.like(_like(folded), escape="\\"),
            Lead.email.like(_like(q.strip().lower()), escape="\\"),
        ]
    digits = re.sub(r"\D", "", q)
    # Only a query that looks like a phone number searches phones ("Đức Phát 300" does not).
    if _PHONEISH.fullmatch(q.strip()) and len(digits) >= 3:
        conditions.append(Lead.phone_normalized.like(_like(digits), escape="\\"))
        if q.strip().startswith("+84") or (digits.startswith("84") and len(digits) >= 11):
            conditions.append(Lead.phone_normalized.like(_like("0" + digits[2:]), escape="\\"))
    return or_(*conditions) if conditions else None


async def list_leads(
    session: AsyncSession, user: User, page: PageParams, filters: LeadFilters
) -> tuple[list[Lead], int]:
    """Leads the caller may see. Merged leads are left out unless asked for by status."""
    stmt = visible_to(select(Lead), Lead.owner_id, user)
    if filters.statuses:
        stmt = stmt.where(Lead.status.in_([s.value for s in filters.statuses]))
    else:
        stmt = stmt.where(Lead.status != Status.MERGED.value)
    if filters.source:
        stmt = stmt.where(Lead.source == filters.source)
    if filters.owner_id:
        stmt = stmt.where(Lead.owner_id == filters.owner_id)
    if filters.campaign_id:
        stmt = stmt.where(Lead.campaign_id == filters.campaign_id)
    if filters.region_code:
        stmt = stmt.where(Lead.region_code == filters.region_code.upper())
    if filters.q and (condition := _search(filters.q)) is not None:
        stmt = stmt.where(condition)
    return await fetch_page(session, stmt, page, Lead.created_at.desc(), Lead.id)


async def edit(session: AsyncSession, lead_id: uuid.UUID, data: LeadUpdate, user: User) -> Lead:
    """Change what was typed about an open lead; re-checks duplicates on changed keys."""
    lead = await get_visible(session, lead_id, user, for_update=True)
    if not domain.is_open(lead.status):
        raise errors.Conflict(
            f"a {lead.status} lead cannot be edited; only new, contacting or evaluated ones"
        )
    before, old_keys = _snapshot(lead), _keys(lead)
    given = data.model_fields_set
    for name in EDITABLE:
        if name in given:
            setattr(lead, name, getattr(data, name))
    if "approach_plan" in given:
        plan = data.approach_plan
        lead.planned_contact_on = plan.planned_contact_on if plan else None
        lead.planned_channel = plan.planned_channel if plan else None
        lead.plan_note = plan.note if plan else None
    _derive(lead)
    changes = _diff(before, _snapshot(lead))
    if not changes:
        return lead
    new_keys = _keys(lead)
    # Only keys the edit changed: a match the owner confirmed at capture does not ask again.
    changed: set[MatchKind] = {k for k in domain.MATCH_KINDS if getattr(new_keys, k) != getattr(old_keys, k)}
    await _refuse_duplicates(
        session, user, new_keys.only(changed), confirmed=data.confirm_duplicate, exclude=lead.id
    )
    lead.updated_at = _now()
    _record(session, lead.id, "updated", user.id, changes)
    return lead


async def history(
    session: AsyncSession, lead_id: uuid.UUID, user: User, page: PageParams
) -> tuple[list[LeadHistory], int]:
    await get_visible(session, lead_id, user)
    stmt = select(LeadHistory).where(LeadHistory.lead_id == lead_id)
    return await fetch_page(session, stmt, page, LeadHistory.at, LeadHistory.id)


# -- the pipeline ------------------------------------------------------------------


async def contact(session: AsyncSession, lead_id: uuid.UUID, data: ContactRequest, user: User) -> Lead:
    lead = await get_visible(session, lead_id, user, for_update=True)
    before = _snapshot(lead)
    lead.status = domain.transition(lead.status, Status.CONTACTING).value
    lead.contacted_at = lead.updated_at = _now()
    lead.contact_note = data.note
    _record(session, lead.id, "contacted", user.id, _diff(before, _snapshot(lead)))
    return lead


async def evaluate(session: AsyncSession, lead_id: uuid.UUID, data: EvaluateRequest, user: User) -> Lead:
    lead = await get_visible(session, lead_id, user, for_update=True)
    before = _snapshot(lead)
    lead.status = domain.transition(lead.status, Status.EVALUATED).value
    lead.promising = data.promising
    lead.evaluation_note = data.note
    lead.evaluated_at = lead.updated_at = _now()
    _record(session, lead.id, "evaluated", user.id, _diff(before, _snapshot(lead)))
    return lead


async def disqualify(session: AsyncSession, lead_id: uuid.UUID, data: DisqualifyRequest, user: User) -> Lead:
    """Close a lead as not promising, with a reason from the managed list."""
    lead = await get_visible(session, lead_id, user, for_update=True)
    reason = await session.get(DisqualifyReason, data.reason)
    if reason is None or not reason.active:
        raise errors.Invalid.at(
            ("body", "reason"), f"{data.reason!r} is not a current disqualification reason"
        )
    before = _snapshot(lead)
    lead.status = domain.transition(lead.status, Status.CLOSED).value
    lead.disqualify_reason = reason.code
    lead.disqualify_note = data.note
    lead.closed_at = lead.updated_at = _now()
    _record(session, lead.id, "disqualified", user.id, _diff(before, _snapshot(lead)))
    await emit(
        session,
        LeadDisqualified(
            lead_id=lead.id,
            owner_id=lead.owner_id,
            reason=reason.code,
            note=lead.disqualify_note,
            source=lead.source,  # type: ignore[arg-type]
            region_code=lead.region_code,
            channel_id=lead.channel_id,
            campaign_id=lead.campaign_id,
            disqualified_at=lead.closed_at,
        ),
        actor=user.id,
    )
    return lead


async def convert(session: AsyncSession, lead_id: uuid.UUID, data: ConvertRequest, user: User) -> Lead:
    """A promising lead becomes a prospect customer (and an opportunity, if given).

    The ids are minted here and travel in `LeadQualified`, so customers and sales
    create them idempotently.
    """
    lead = await get_visible(session, lead_id, user, for_update=True)
    before = _snapshot(lead)
    lead.status = domain.conversion(lead.status, lead.promising).value
    lead.customer_id = uuid.uuid4()
    opportunity = data.opportunity
    lead.opportunity_id = uuid.uuid4() if opportunity else None
    lead.converted_at = lead.updated_at = _now()
    changes = _diff(before, _snapshot(lead))
    if opportunity:
        changes["opportunity_name"] = [None, opportunity.name]
        changes["expected_amount"] = [None, opportunity.expected_amount]
    _record(session, lead.id, "converted", user.id, changes)
    await emit(
        session,
        LeadQualified(
            lead_id=lead.id,
            customer_id=lead.customer_id,
            opportunity_id=lead.opportunity_id,
            opportunity_name=opportunity.name if opportunity else None,
            expected_amount=opportunity.expected_amount if opportunity else None,
            name=domain.customer_name(lead.full_name, lead.company),
            contact_name=lead.full_name,
            phone=lead.phone,
            email=lead.email,
            owner_id=lead.owner_id,
            source=lead.source,  # type: ignore[arg-type]
            region_code=lead.region_code,
            channel_id=lead.channel_id,
            campaign_id=lead.campaign_id,
            qualified_at=lead.converted_at,
        ),
        actor=user.id,
    )
    return lead


async def assign(session: AsyncSession, lead_id: uuid.UUID, data: AssignRequest, user: User) -> Lead:
    """A manager gives the lead to someone else."""
    lead = await get_visible(session, lead_id, user, for_update=True)
    await _check_owner(session, data.owner_id)
    if lead.owner_id == data.owner_id:
        return lead
    before = _snapshot(lead)
    lead.owner_id = data.owner_id
    lead.updated_at = _now()
    _record(session, lead.id, "assigned", user.id, _diff(before, _snapshot(lead)))
    return lead


async def merge(session: AsyncSession, lead_id: uuid.UUID, data: MergeRequest, user: User) -> Lead:
    """Fold `data.duplicate_id` into `lead_id`: the kept lead takes what it lacks and
    the duplicate's history; the duplicate stays, marked merged."""
    if data.duplicate_id == lead_id:
        raise errors.Invalid.at(("body", "duplicate_id"), "a lead cannot be merged into itself")
    # Lock both in one order, so two opposite merges cannot deadlock.
    rows = await session.execute(
        select(Lead).where(Lead.id.in_([lead_id, data.duplicate_id])).order_by(Lead.id).with_for_update()
    )
    by_id = {lead.id: lead for lead in rows.scalars()}
    kept, duplicate = by_id.get(lead_id), by_id.get(data.duplicate_id)
    if kept is None or not user.can_see(kept.owner_id):
        raise errors.NotFound("lead", lead_id)
    if duplicate is None or not user.can_see(duplicate.owner_id):
        raise errors.NotFound("lead", data.duplicate_id)
    if not domain.is_open(kept.status):
        raise errors.Conflict(
            f"lead {kept.id} is {kept.status}; only new, contacting or evaluated leads merge"
        )
    now = _now()
    dup_before, kept_before = _snapshot(duplicate), _snapshot(kept)
    duplicate.status = domain.transition(duplicate.status, Status.MERGED).value
    duplicate.merged_into_id = kept.id
    duplicate.merged_at = duplicate.updated_at = now

    for name in FILLABLE:
        if getattr(kept, name) in (None, "") and getattr(duplicate, name) not in (None, ""):
            setattr(kept, name, getattr(duplicate, name))
    _derive(kept)
    kept.updated_at = now

    await session.execute(
        update(LeadHistory)
        .where(LeadHistory.lead_id == duplicate.id)
        .values(lead_id=kept.id)
        .execution_options(synchronize_session=False)
    )
    changes = _diff(kept_before, _snapshot(kept))
    changes["merged_lead_id"] = [None, str(duplicate.id)]
    _record(session, kept.id, "merged", user.id, changes, at=now)
    _record(session, duplicate.id, "merged_into", user.id, _diff(dup_before, _snapshot(duplicate)), at=now)
    return kept


# -- import ------------------------------------------------------------------------


async def import_leads(session: AsyncSession, content: bytes, user: User) -> ImportReport:
    """Import a CSV file: every good row becomes a lead; bad rows and duplicates are
    reported by line number and written nowhere. Rows are fully checked before any
    is inserted, so no row is ever half-written."""
    parsed = importing.parse(importing.decode(content))
    rejected: list[ImportRejected] = []
    candidates: list[tuple[int, LeadCreate, uuid.UUID]] = []
    owners = await _import_owners(session, user, {p.row.owner for p in parsed if p.row and p.row.owner})
    for p in parsed:
        if p.row is None:
            rejected.append(ImportRejected(row=p.line, errors=p.errors))
            continue
        owner = owners[p.row.owner or ""]
        if isinstance(owner, str):
            rejected.append(ImportRejected(row=p.line, errors=[f"owner: {owner}"]))
            continue
        candidates.append((p.line, p.row.capture(), owner))

    # An import checks thousands of keys: it holds the duplicate check to itself.
    await session.execute(select(func.pg_advisory_xact_lock(_DEDUPE_ALL, 0)))
    now = _now()
    leads = [(line, _new_lead(data, owner_id, now)) for line, data, owner_id in candidates]
    in_database = await _existing_keys(session, [_keys(lead) for _, lead in leads])
    in_file: dict[str, tuple[uuid.UUID, int | None]] = {}
    duplicates: list[ImportDuplicate] = []
    accepted: list[Lead] = []
    for line, lead in leads:
        keys = _keys(lead)
        match = _first_match(keys, in_database) or _first_match(keys, in_file)
        if match is not None:
            (duplicate_of, duplicate_of_row), matched_on = match
            duplicates.append(
                ImportDuplicate(
                    row=line,
                    matched_on=matched_on,
                    duplicate_of=duplicate_of,
                    duplicate_of_row=duplicate_of_row,
                )
            )
            continue
        accepted.append(lead)
        for lookup in keys.lookups():
            in_file.setdefault(lookup, (lead.id, line))

    if accepted:
        session.add_all(accepted)
        await session.flush()
        await session.execute(insert(LeadHistory), [_entry(lead, "imported", user) for lead in accepted])
        await emit_many(session, [_captured(lead) for lead in accepted], actor=user.id)
    rejected.sort(key=lambda r: r.row)
    return ImportReport(
        total_rows=len(parsed),
        imported=len(accepted),
        imported_ids=[lead.id for lead in accepted],
        duplicates=duplicates,
        rejected=rejected,
    )


async def _import_owners(
    session: AsyncSession, user: User, usernames: set[str]
) -> dict[str, uuid.UUID | str]:
    """Each owner named in the file (and "" for the importer): their id, or why not."""
    owners: dict[str, uuid.UUID | str] = {}
    for username in ["", *sorted(usernames)]:
        if username:
            member, label = await directory.by_username(session, username), repr(username)
        else:
            member, label = await directory.by_id(session, user.id), "you"
        if member is None:
            owners[username] = (
                f"no member of staff is called {label}"
                if username
                else ("you are not in the staff directory yet")
            )
        elif not member.active:
            owners[username] = f"{label} is no longer active"
        elif member.role not in OWNER_ROLES:
            owners[username] = f"{label} ({member.role}) cannot own leads"
        elif member.user_id != user.id and user.role not in MANAGERS:
            owners[username] = "only a sales manager or an admin may give leads to someone else"
        else:
            owners[username] = member.user_id
    return owners


async def _existing_keys(
    session: AsyncSession, keys: list[MatchKeys]
) -> dict[str, tuple[uuid.UUID, int | None]]:
    """Every key among `keys` that a lead in the database (not merged) already has, and that lead."""
    phones = sorted({k.phone for k in keys if k.phone})
    emails = sorted({k.email for k in keys if k.email})
    pairs = sorted({k.company_name for k in keys if k.company_name})
    # Each key kind is one array parameter joined as a table: `IN (thousands of parameters)`
    # or `= ANY(array)` compare row by row once Postgres settles on a generic plan.
    conditions = []
    if phones:
        wanted = func.unnest(_texts(phones)).table_valued("phone").render_derived()
        conditions.append(Lead.phone_normalized.in_(select(wanted.c.phone)))
    if emails:
        wanted = func.unnest(_texts(emails)).table_valued("email").render_derived()
        conditions.append(Lead.email.in_(select(wanted.c.email)))
    if pairs:
        companies, names = zip(*pairs, strict=True)
        wanted = func.unnest(_texts(companies), _texts(names)).table_valued("company", "name")
        wanted = wanted.render_derived()
        conditions.append(
            tuple_(Lead.company_folded, Lead.name_folded).in_(select(wanted.c.company, wanted.c.name))
        )
    found: dict[str, tuple[uuid.UUID, int | None]] = {}
    for condition in conditions:
        rows = await session.execute(
            select(Lead.id, Lead.phone_normalized, Lead.email, Lead.company_folded, Lead.name_folded)
            .where(condition, Lead.status != Status.MERGED.value)
            .order_by(Lead.created_at, Lead.id)
        )
        for lead_id, phone, email, company, name in rows:
            pair = (company, name) if company else None
            for lookup in MatchKeys(phone=phone, email=email, company_name=pair).lookups():
                found.setdefault(lookup, (lead_id, None))
    return found


def _texts(items: Iterable[str]) -> Any:
    return bindparam(None, list(items), type_=ARRAY(String))


Hit = tuple[uuid.UUID, int | None]


def _first_match(keys: MatchKeys, index: dict[str, Hit]) -> tuple[Hit, list[MatchKind]] | None:
    """The first lead in `index` this row duplicates, and every key on which it matches it."""
    for kind in domain.MATCH_KINDS:
        lookup = keys.lookup(kind)
        if lookup is not None and lookup in index:
            hit = index[lookup]
            matched: list[MatchKind] = [
                k for k in domain.MATCH_KINDS if (other := keys.lookup(k)) and index.get(other) == hit
            ]
            return hit, matched
    return None


# -- disqualification reasons -----------------------------------------------------------


async def list_reasons(
    session: AsyncSession, page: PageParams, *, active: bool | None = None
) -> tuple[list[DisqualifyReason], int]:
    stmt = select(DisqualifyReason)
    if active is not None:
        stmt = stmt.where(DisqualifyReason.active == active)
    return await fetch_page(session, stmt, page, DisqualifyReason.code)


async def add_reason(session: AsyncSession, data: ReasonCreate) -> DisqualifyReason:
    if await session.get(DisqualifyReason, data.code) is not None:
        raise errors.Conflict(f"disqualification reason {data.code!r} exists")
    reason = DisqualifyReason(code=data.code, label_vi=data.label_vi, label_en=data.label_en, active=True)
    session.add(reason)
    await session.flush()
    return reason


async def change_reason(session: AsyncSession, code: str, data: ReasonUpdate) -> DisqualifyReason:
    """Retire or restore a reason (retired ones stay on the leads closed with them)."""
    reason = await session.get(DisqualifyReason, code, with_for_update=True)
    if reason is None:
        raise errors.NotFound("disqualification reason", code)
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None:
            raise errors.Invalid.at(("body", name), "cannot be null")
        setattr(reason, name, value)
    return reason


# -- portfolio ---------------------------------------------------------------------


async def reassign_portfolio(
    session: AsyncSession, from_user_id: uuid.UUID, to_user_id: uuid.UUID, actor: uuid.UUID | None
) -> int:
    """Every lead of `from_user_id`, whatever its status, to `to_user_id`; each move audited."""
    if await directory.by_id(session, to_user_id) is None:
        raise UnknownStaff(f"{to_user_id} is not in the staff directory yet")
    if from_user_id == to_user_id:
        return 0
    now = _now()
    moved = (
        await session.execute(
            update(Lead)
            .where(Lead.owner_id == from_user_id)
            .values(owner_id=to_user_id, updated_at=now)
            .returning(Lead.id)
            .execution_options(synchronize_session=False)
        )
    ).scalars()
    entries = [
        {
            "lead_id": lead_id,
            "at": now,
            "actor_id": actor,
            "action": "reassigned",
            "changes": {"owner_id": [str(from_user_id), str(to_user_id)]},
        }
        for lead_id in moved
    ]
    if entries:
        await session.execute(insert(LeadHistory), entries)
    return len(entries)


async def holdings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """Every lead the person owns, whatever its status (kinds must not overlap: the
    gateway adds them up)."""
    total = await session.scalar(select(func.count()).where(Lead.owner_id == user_id))
    return {"leads": int(total or 0)}


async def campaign_launched(session: AsyncSession, event: CampaignLaunched) -> None:
    values = {"name": event.name, "starts_on": event.starts_on, "ends_on": event.ends_on}
    await session.execute(
        pg_insert(Campaign)
        .values(id=event.campaign_id, launched_at=event.launched_at, **values)
        .on_conflict_do_update(index_elements=[Campaign.id], set_=values)
    )


async def running_campaigns(session: AsyncSession, today: date) -> list[Campaign]:
    """Campaigns a lead may be captured for today: started, and not yet ended."""
    rows = await session.execute(
        select(Campaign)
        .where(Campaign.starts_on <= today, or_(Campaign.ends_on.is_(None), Campaign.ends_on >= today))
        .order_by(Campaign.starts_on.desc(), Campaign.name)
    )
    return list(rows.scalars())
