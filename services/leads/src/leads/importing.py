"""Importing leads from a spreadsheet (.csv with , ; or tab, or .xlsx): every row
checked with the same rules as a capture, then against the leads that exist and the
rows above it.

Reading the file (`parse`, `ImportRow`) is pure: the kit's `spreadsheet.read` gives
the rows, leads' rules check them. `import_leads` resolves the owners named in it
(usernames) and the duplicates, and writes the good rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import String, bindparam, func, insert, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import spreadsheet
from crm_kit.auth import User
from crm_kit.outbox import emit_many
from crm_kit.spreadsheet import RowProblem

from . import domain, events, history
from .capture import keys_of, lock_every_key, new_lead
from .domain import Action, MatchKeys, MatchKind, PlannedChannel, Source, Status
from .models import Lead, LeadHistory
from .owners import import_owners
from .schemas import (
    CAPTURED_FIELDS,
    ApproachPlan,
    Email,
    FullName,
    ImportDuplicate,
    ImportRejected,
    ImportReport,
    LeadCreate,
    Note,
    Phone,
    RegionCode,
    Request,
    Text200,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000

REQUIRED_COLUMNS = ("full_name", "source")
COLUMNS = (
    "full_name",
    "company",
    "phone",
    "email",
    "source",
    "region_code",
    "campaign_id",
    "owner",
    "planned_contact_on",
    "note",
    # Accepted too, though not in the template: the rest of a capture's fields.
    "channel_id",
    "planned_channel",
)

#: A lead an imported row duplicates: its id, and its row when it is in this file.
Hit = tuple[uuid.UUID, int | None]


async def import_leads(session: AsyncSession, parsed: list[ParsedRow], user: User) -> ImportReport:
    """Import a spreadsheet's rows (`parse`, which the caller runs off the event loop):
    every good row becomes a lead; bad rows and duplicates are reported by row number and
    written nowhere. Rows are fully checked before any is inserted, so no row is ever
    half-written."""
    candidates, rejected = await _owned(session, user, parsed)

    # An import checks thousands of keys: it holds the duplicate check to itself.
    await lock_every_key(session)
    now = datetime.now(UTC)
    leads = [(line, new_lead(data, owner_id, now)) for line, data, owner_id in candidates]
    in_database = await _existing_keys(session, [keys_of(lead) for _, lead in leads])
    accepted, duplicates = _without_duplicates(leads, in_database)

    if accepted:
        session.add_all(accepted)
        await session.flush()
        entries = [history.entered(lead, Action.IMPORTED, user) for lead in accepted]
        await session.execute(insert(LeadHistory), entries)
        await emit_many(session, [events.captured(lead) for lead in accepted], actor=user.id)
    rejected.sort(key=lambda r: r.row)
    return ImportReport(
        total_rows=len(parsed),
        imported=len(accepted),
        imported_ids=[lead.id for lead in accepted],
        duplicates=duplicates,
        rejected=rejected,
    )


async def _owned(
    session: AsyncSession, user: User, parsed: list[ParsedRow]
) -> tuple[list[tuple[int, LeadCreate, uuid.UUID]], list[ImportRejected]]:
    """The good rows as captures with their owners' ids; the bad ones, and those whose
    owner cannot have them, rejected."""
    rejected: list[ImportRejected] = []
    candidates: list[tuple[int, LeadCreate, uuid.UUID]] = []
    owners = await import_owners(session, user, {p.row.owner for p in parsed if p.row and p.row.owner})
    for p in parsed:
        if p.row is None:
            rejected.append(ImportRejected(row=p.line, errors=p.errors, problems=p.problems))
            continue
        owner = owners[p.row.owner or ""]
        if isinstance(owner, RowProblem):
            rejected.append(ImportRejected(row=p.line, errors=[f"owner: {owner.message}"], problems=[owner]))
            continue
        candidates.append((p.line, p.row.capture(), owner))
    return candidates, rejected


def _without_duplicates(
    leads: list[tuple[int, Lead]], in_database: dict[str, Hit]
) -> tuple[list[Lead], list[ImportDuplicate]]:
    """The leads that duplicate neither the database nor a row above them, and the
    duplicates of either."""
    in_file: dict[str, Hit] = {}
    duplicates: list[ImportDuplicate] = []
    accepted: list[Lead] = []
    for line, lead in leads:
        keys = keys_of(lead)
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
    return accepted, duplicates


async def _existing_keys(session: AsyncSession, keys: list[MatchKeys]) -> dict[str, Hit]:
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
    found: dict[str, Hit] = {}
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


# -- reading the file (no database) --------------------------------------------------


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _date(value: Any) -> Any:
    """ISO dates, and the `dd/mm/yyyy` people type in Vietnam."""
    if isinstance(value, str) and (match := _DMY.match(value.strip())):
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError as exc:
            raise PydanticCustomError("date.invalid", "not a date: {value}", {"value": value}) from exc
    return value


class ImportRow(Request):
    """One row of the file; field names are the column names, so errors name columns."""

    full_name: FullName
    company: Text200 = None
    phone: Phone = None
    email: Email = None
    source: Annotated[Source, BeforeValidator(_lower)]
    region_code: RegionCode = None
    channel_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    #: A username from the staff directory; blank means the importer.
    owner: Annotated[str | None, BeforeValidator(_lower), Field(max_length=50)] = None
    planned_contact_on: Annotated[date | None, BeforeValidator(_date)] = None
    planned_channel: Annotated[PlannedChannel | None, BeforeValidator(_lower)] = None
    note: Note = None

    def capture(self) -> LeadCreate:
        """The row as a capture request (the owner is resolved by the caller)."""
        plan = None
        if self.planned_contact_on or self.planned_channel or self.note:
            plan = ApproachPlan(
                planned_contact_on=self.planned_contact_on,
                planned_channel=self.planned_channel,
                note=self.note,
            )
        return LeadCreate(**self.model_dump(include=set(CAPTURED_FIELDS)), approach_plan=plan)


@dataclass
class ParsedRow:
    #: The spreadsheet's row number (a CSV file's line where the row starts; the header is 1).
    line: int
    row: ImportRow | None
    #: The English of `problems`: "column: what is wrong".
    errors: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @classmethod
    def refused(cls, line: int, problems: list[RowProblem]) -> ParsedRow:
        return cls(line, None, [f"{p.column}: {p.message}" for p in problems], problems)


def parse(content: bytes, file_name: str | None = None) -> list[ParsedRow]:
    """Every data row of the file, validated. The file as a whole cannot be imported
    (nothing is) on a `spreadsheet.FileProblem` (422: its type, encoding, header or
    number of rows) or `spreadsheet.TooLarge` (413)."""
    sheet = _read(file_name, content)
    _check_header(sheet)
    return [_parse_row(row, sheet.header) for row in sheet.rows]


def _read(file_name: str | None, content: bytes) -> spreadsheet.Sheet:
    try:
        return spreadsheet.read(file_name, content, max_bytes=MAX_BYTES, max_rows=MAX_ROWS)
    except spreadsheet.RepeatedColumns as exc:
        # Said as leads says the other header problems.
        raise spreadsheet.FileProblem(
            f"header: repeated columns: {', '.join(exc.columns)}",
            code="file.repeated_columns",
            params={"columns": exc.columns},
        ) from exc


def _check_header(sheet: spreadsheet.Sheet) -> None:
    unknown = spreadsheet.unknown_columns(sheet, COLUMNS)
    if unknown:
        raise spreadsheet.FileProblem(
            f"header: unknown columns: {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}",
            code="file.unknown_columns",
            params={"columns": unknown, "allowed": list(COLUMNS)},
        )
    missing = spreadsheet.missing_columns(sheet, REQUIRED_COLUMNS)
    if missing:
        raise spreadsheet.FileProblem(
            f"header: missing columns: {', '.join(missing)}",
            code="file.missing_columns",
            params={"columns": missing},
        )


def _parse_row(row: spreadsheet.Row, header: list[str]) -> ParsedRow:
    width = _width(row.cells)
    if width > len(header):
        problem = RowProblem(
            column="row",
            code="import.row_too_wide",
            params={"cells": width, "columns": len(header)},
            message=f"{width} cells but the header names {len(header)} columns",
        )
        return ParsedRow.refused(row.number, [problem])
    values = {name: text for name, text in row.values(header).items() if text}
    try:
        return ParsedRow(row.number, ImportRow.model_validate(values))
    except ValidationError as exc:
        return ParsedRow.refused(row.number, problems_of(exc))


def _width(cells: list[Any]) -> int:
    """The cells a row holds. A CSV row's every cell counts, blank or not (one too many
    is a value with an unquoted delimiter); the empty (None) cells an .xlsx row may end
    in, formatted but never typed in, do not."""
    width = len(cells)
    while width and cells[width - 1] is None:
        width -= 1
    return width


#: Plainer words than pydantic's for what people get wrong in spreadsheets.
_MESSAGES = {
    "missing": "required",
    "uuid_parsing": "not a valid id (UUID)",
    "uuid_type": "not a valid id (UUID)",
    "date_from_datetime_parsing": "not a date (YYYY-MM-DD or DD/MM/YYYY)",
    "date_parsing": "not a date (YYYY-MM-DD or DD/MM/YYYY)",
}


def problems_of(exc: ValidationError) -> list[RowProblem]:
    """One problem per column, in the words of the capture rules: its code is pydantic's
    error type (or a validator's own code, `phone.invalid`), its params pydantic's ctx."""
    out = []
    for err in exc.errors():
        where = str(err["loc"][0]) if err["loc"] else "row"
        message = _MESSAGES.get(err["type"]) or str(err["msg"]).removeprefix("Value error, ")
        params = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float | list)}
        out.append(RowProblem(column=where, code=err["type"], params=params, message=message))
    return out


def errors_of(exc: ValidationError) -> list[str]:
    """`column: what is wrong`, one per problem, in the words of the capture rules."""
    return [f"{p.column}: {p.message}" for p in problems_of(exc)]
