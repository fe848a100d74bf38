"""Use cases of bringing scattered customer lists in: preview a file, then commit it.

A preview writes no customer: it stores the parsed rows and reports, row by row,
what would be imported, what duplicates an existing customer or an earlier row,
and what is rejected and why. Committing evaluates the stored rows again (others
may have added customers since) and writes every row that passes, each one whole:
the customer, its timeline entry and its events. A bad row never stops the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from crm_kit import directory, errors, spreadsheet
from crm_kit.auth import Role, User
from crm_kit.http import PageParams
from crm_kit.outbox import emit_many
from crm_kit.queries import fetch_page, visible_to

from .domain import ImportStatus, Stage, TimelineKind
from .lifecycle import promoted_event
from .models import Customer, CustomerImport
from .ownership import OWNER_ROLES
from .records import now, registered_event
from .spreadsheet import COLUMNS, MAX_BYTES, CleanRow, Problem, check_row_problems
from .timeline import entry, record_all

MANAGERS = frozenset({Role.SALES_MANAGER, Role.ADMIN})
#: Commits take turns, so two files holding the same customer cannot both add it.
_COMMIT_LOCK = 0x637573_696D70

# -- reading the file ------------------------------------------------------------------

#: Where a problem with the file as a whole is, as FastAPI locates the upload's own errors.
_FILE = ("body", "file")


@dataclass(frozen=True)
class Table:
    #: [{"row": n, "values": {column: text}}] for every non-blank data row.
    rows: list[dict[str, Any]]
    ignored_columns: list[str]


def read_table(file_name: str, content: bytes, *, max_rows: int, max_bytes: int = MAX_BYTES) -> Table:
    """The rows of a .csv or .xlsx file of customers (`crm_kit.spreadsheet.read`), each
    with the cells of the columns imported; row numbers are the spreadsheet's own.

    A file that cannot be read as a whole answers at `body.file`: 422, or 413 when it
    is over either limit (too many rows too, as this import always has).
    """
    try:
        sheet = spreadsheet.read(file_name, content, max_bytes=max_bytes, max_rows=max_rows)
    except (spreadsheet.TooLarge, spreadsheet.TooManyRows) as exc:
        raise spreadsheet.TooLarge(
            exc.message,
            code=exc.code,
            params=exc.params,
            detail=errors.Invalid.at(_FILE, exc.message, code=exc.code, params=exc.params).detail(),
        ) from exc
    except spreadsheet.FileProblem as exc:
        raise spreadsheet.FileProblem.at(_FILE, exc.message, code=exc.code, params=exc.params) from exc
    if spreadsheet.missing_columns(sheet, ("name",)):
        raise spreadsheet.FileProblem.at(
            _FILE,
            f"the header row has no 'name' column (columns: {', '.join(COLUMNS)})",
            code="file.missing_columns",
            params={"columns": ["name"]},
        )
    rows = [
        {"row": row.number, "values": {k: v for k, v in row.values(sheet.header).items() if k in COLUMNS}}
        for row in sheet.rows
    ]
    return Table(rows=rows, ignored_columns=spreadsheet.unknown_columns(sheet, COLUMNS))


# -- checking the rows -----------------------------------------------------------------


@dataclass
class Evaluation:
    to_import: list[tuple[CleanRow, uuid.UUID]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def _texts(values: Iterable[str | None]) -> Any:
    return bindparam(None, sorted({v for v in values if v}), type_=ARRAY(String))


async def _owners(
    session: AsyncSession, rows: list[CleanRow], *, uploader_id: uuid.UUID, uploader_role: str
) -> tuple[dict[int, uuid.UUID], dict[int, Problem]]:
    """Each row's owner id, or why the owner column cannot be used."""
    named = sorted({r.owner for r in rows if r.owner})
    staff = directory.staff
    members = {
        m.username: m
        for m in (
            await session.execute(
                select(staff.c.user_id, staff.c.username, staff.c.role, staff.c.active).where(
                    staff.c.username == any_(_texts(named))
                )
            )
        ).all()
    }
    manager = uploader_role in MANAGERS
    owners: dict[int, uuid.UUID] = {}
    problems: dict[int, Problem] = {}
    for r in rows:
        if r.owner is None:
            owners[r.row] = uploader_id
            continue
        member = members.get(r.owner)
        if member is None:
            problems[r.row] = Problem(
                "owner",
                "owner.unknown",
                {"username": r.owner},
                f"no member of staff has the username {r.owner!r}",
            )
        elif not member.active:
            problems[r.row] = Problem(
                "owner", "owner.inactive", {"owner": r.owner}, f"{r.owner!r} is no longer active"
            )
        elif member.user_id != uploader_id and not manager:
            problems[r.row] = Problem(
                "owner",
                "customer.assign_to_other_forbidden",
                {},
                "only a sales manager or admin may give customers to someone else",
            )
        elif member.role not in OWNER_ROLES:
            problems[r.row] = Problem(
                "owner",
                "owner.role_cannot_own",
                {"username": r.owner, "role": member.role or ""},
                f"{r.owner!r} is a {member.role} and cannot own customers",
            )
        else:
            owners[r.row] = member.user_id
    return owners, problems


async def _existing(session: AsyncSession, rows: list[CleanRow]) -> dict[str, dict[str, uuid.UUID]]:
    """Existing customers sharing a phone, e-mail or folded name with the rows (oldest wins)."""
    found: dict[str, dict[str, uuid.UUID]] = {"phone": {}, "email": {}, "name": {}}
    if not rows:
        return found
    matches = await session.execute(
        select(Customer.id, Customer.phone, Customer.email, Customer.name_folded)
        .where(
            or_(
                Customer.phone == any_(_texts(r.phone for r in rows)),
                Customer.email == any_(_texts(r.email for r in rows)),
                Customer.name_folded == any_(_texts(r.name_folded for r in rows)),
            )
        )
        .order_by(Customer.created_at, Customer.id)
    )
    for cid, phone, email, name_folded in matches.all():
        for key, value in (("phone", phone), ("email", email), ("name", name_folded)):
            if value:
                found[key].setdefault(value, cid)
    return found


def _keys(row: CleanRow) -> list[tuple[str, str | None]]:
    return [("phone", row.phone), ("email", row.email), ("name", row.name_folded)]


async def evaluate(
    session: AsyncSession, rows: list[dict[str, Any]], *, uploader_id: uuid.UUID, uploader_role: str
) -> Evaluation:
    result = Evaluation()
    clean: list[CleanRow] = []
    for raw in rows:
        checked = check_row_problems(raw["row"], raw["values"])
        if isinstance(checked, list):
            result.rejected.append(_rejected(raw["row"], checked))
        else:
            clean.append(checked)
    owners, owner_problems = await _owners(
        session, clean, uploader_id=uploader_id, uploader_role=uploader_role
    )
    existing = await _existing(session, clean)
    in_file: dict[str, dict[str, int]] = {"phone": {}, "email": {}, "name": {}}
    for row in clean:
        if row.row in owner_problems:
            result.rejected.append(_rejected(row.row, [owner_problems[row.row]]))
            continue
        duplicate = next(
            (
                {"row": row.row, "matched_on": key, "duplicate_of": str(existing[key][value])}
                for key, value in _keys(row)
                if value and value in existing[key]
            ),
            None,
        ) or next(
            (
                {"row": row.row, "matched_on": key, "duplicate_of": in_file[key][value]}
                for key, value in _keys(row)
                if value and value in in_file[key]
            ),
            None,
        )
        if duplicate is not None:
            result.duplicates.append(duplicate)
            continue
        for key, value in _keys(row):
            if value:
                in_file[key].setdefault(value, row.row)
        result.to_import.append((row, owners[row.row]))
    result.rejected.sort(key=lambda r: r["row"])
    return result


def _rejected(row: int, problems: list[Problem]) -> dict[str, Any]:
    """A rejected row: its problems in English ("column: what is wrong") and coded."""
    return {"row": row, "errors": [p.text() for p in problems], "problems": [p.as_json() for p in problems]}


def _report(total_rows: int, ignored: list[str], evaluation: Evaluation) -> dict[str, Any]:
    return {
        "total_rows": total_rows,
        "ignored_columns": ignored,
        "to_import": [{"row": r.row, "name": r.name} for r, _ in evaluation.to_import],
        "duplicates": evaluation.duplicates,
        "rejected": evaluation.rejected,
        "imported": [],
    }


async def preview(
    session: AsyncSession,
    file_name: str,
    table: Table,
    user: User,
) -> CustomerImport:
    """Check the file's rows (`read_table`, which the caller runs off the event loop) and
    store them with their report. Writes no customer."""
    evaluation = await evaluate(session, table.rows, uploader_id=user.id, uploader_role=user.role.value)
    upload = CustomerImport(
        id=uuid.uuid4(),
        file_name=file_name[:255],
        uploaded_by=user.id,
        uploader_role=user.role.value,
        status=ImportStatus.PREVIEWED,
        rows=table.rows,
        report=_report(len(table.rows), table.ignored_columns, evaluation),
    )
    session.add(upload)
    await session.flush()
    return upload


async def commit(session: AsyncSession, import_id: uuid.UUID, user: User) -> CustomerImport:
    """Write the rows that still pass (duplicates are checked again now); once only."""
    upload = await _visible(session, import_id, user, for_update=True)
    if upload.status == ImportStatus.COMMITTED:
        raise errors.Conflict(
            f"import {upload.id} was committed at {upload.committed_at:%Y-%m-%d %H:%M} UTC",
            code="import.already_committed",
            params={"committed_at": upload.committed_at},
        )
    await session.execute(select(func.pg_advisory_xact_lock(_COMMIT_LOCK)))
    evaluation = await evaluate(
        session, upload.rows, uploader_id=upload.uploaded_by, uploader_role=upload.uploader_role
    )
    at = now()
    written = [(row.row, _new_customer(row, owner_id, at)) for row, owner_id in evaluation.to_import]
    # The customers in one bulk INSERT (no unit of work: the ORM's flush of 10,000 new
    # objects took twice as long), the timeline in one statement, then the events in one
    # (`emit_many`): one `emit` per event was 10,000-20,000 statements for a full file.
    if written:
        await session.execute(insert(Customer), [vars(customer) for _, customer in written])
    await record_all(session, [_imported_entry(upload, number, c, user) for number, c in written])
    events: list[Any] = []
    for _, customer in written:
        events.append(registered_event(customer))
        if customer.lifecycle_stage == Stage.TRADITIONAL:
            # Sales opens the customer for ordering and accounting its account.
            events.append(promoted_event(customer))
    await emit_many(session, events, actor=user.id)
    report = _report(upload.report["total_rows"], upload.report.get("ignored_columns", []), evaluation)
    report["imported"] = [{"row": number, "customer_id": str(c.id)} for number, c in written]
    upload.report = report
    upload.status = ImportStatus.COMMITTED
    upload.committed_at = at
    upload.committed_by = user.id
    await session.flush()
    return upload


@dataclass
class NewCustomer:
    """A customer a file's row becomes: its columns (the database fills created_at and
    updated_at), written in one bulk INSERT, and what its events carry (`CustomerFacts`)."""

    id: uuid.UUID
    name: str
    name_folded: str
    contact_name: str | None
    phone: str | None
    email: str | None
    address: str | None
    region_code: str | None
    owner_id: uuid.UUID
    lifecycle_stage: str
    grade: str | None
    source: str
    promoted_at: datetime | None
    channel_id: uuid.UUID | None = None
    tax_code: str | None = None
    legal_name: str | None = None
    billing_address: str | None = None


def _new_customer(row: CleanRow, owner_id: uuid.UUID, at: datetime) -> NewCustomer:
    return NewCustomer(
        id=uuid.uuid4(),
        name=row.name,
        name_folded=row.name_folded[:200],
        contact_name=row.contact_name,
        phone=row.phone,
        email=row.email,
        address=row.address,
        region_code=row.region_code,
        owner_id=owner_id,
        lifecycle_stage=row.stage.value,
        grade=row.grade,
        source="import",
        promoted_at=at if row.stage == Stage.TRADITIONAL else None,
    )


def _imported_entry(upload: CustomerImport, number: int, customer: NewCustomer, user: User) -> dict[str, Any]:
    detail = {
        "import_id": str(upload.id),
        "file_name": upload.file_name,
        "row": number,
        "stage": customer.lifecycle_stage,
        "grade": customer.grade,
    }
    return entry(customer.id, TimelineKind.IMPORTED, user.id, detail)


async def _visible(
    session: AsyncSession, import_id: uuid.UUID, user: User, *, for_update: bool = False
) -> CustomerImport:
    stmt = select(CustomerImport).where(CustomerImport.id == import_id)
    if for_update:
        stmt = stmt.with_for_update()
    upload = (await session.execute(stmt)).scalar_one_or_none()
    if upload is None or not user.can_see(upload.uploaded_by):
        raise errors.NotFound("import", import_id)
    return upload


async def get(session: AsyncSession, import_id: uuid.UUID, user: User) -> CustomerImport:
    return await _visible(session, import_id, user)


async def list_imports(
    session: AsyncSession, user: User, page: PageParams
) -> tuple[list[CustomerImport], int]:
    stmt = visible_to(
        select(CustomerImport).options(defer(CustomerImport.rows)), CustomerImport.uploaded_by, user
    )
    return await fetch_page(session, stmt, page, CustomerImport.created_at.desc(), CustomerImport.id)


def report_out(upload: CustomerImport) -> dict[str, Any]:
    return {
        "id": upload.id,
        "file_name": upload.file_name,
        "status": upload.status,
        "uploaded_by": upload.uploaded_by,
        "created_at": upload.created_at,
        "committed_at": upload.committed_at,
        "committed_by": upload.committed_by,
        **upload.report,
    }


def summary_out(upload: CustomerImport) -> dict[str, Any]:
    report = upload.report
    return {
        "id": upload.id,
        "file_name": upload.file_name,
        "status": upload.status,
        "uploaded_by": upload.uploaded_by,
        "created_at": upload.created_at,
        "committed_at": upload.committed_at,
        "total_rows": report["total_rows"],
        "to_import": len(report["to_import"]),
        "duplicates": len(report["duplicates"]),
        "rejected": len(report["rejected"]),
        "imported": len(report["imported"]),
    }
