"""Reading a CSV file of leads: every row checked with the same rules as a capture.

Pure: no database. Owners (usernames) and duplicates are resolved by `service.import_leads`.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError

from crm_kit import errors

from .domain import PlannedChannel, Source
from .schemas import ApproachPlan, Email, FullName, LeadCreate, Note, Phone, RegionCode, Request, Text200

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

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class FileRejected(errors.Invalid):
    """The file as a whole cannot be imported (nothing is)."""


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _date(value: Any) -> Any:
    """ISO dates, and the `dd/mm/yyyy` people type in Vietnam."""
    if isinstance(value, str) and (match := _DMY.match(value.strip())):
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError as exc:
            raise ValueError(f"not a date: {value}") from exc
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
        return LeadCreate(
            full_name=self.full_name,
            company=self.company,
            phone=self.phone,
            email=self.email,
            source=self.source,
            region_code=self.region_code,
            channel_id=self.channel_id,
            campaign_id=self.campaign_id,
            approach_plan=plan,
        )


@dataclass
class ParsedRow:
    #: 1-based line number in the file where the row starts (the header is line 1).
    line: int
    row: ImportRow | None
    errors: list[str] = field(default_factory=list)


def decode(content: bytes) -> str:
    if len(content) > MAX_BYTES:
        raise FileRejected(f"file: larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return content.decode("utf-8-sig")  # tolerates the BOM Excel writes
    except UnicodeDecodeError as exc:
        raise FileRejected(f"file: not UTF-8 text (byte {exc.start})") from exc


def parse(text: str) -> list[ParsedRow]:
    """Every data row of the file, validated; `FileRejected` if the file itself is unusable."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise FileRejected("file: empty; the first line must name the columns") from None
    except csv.Error as exc:
        raise FileRejected(f"line 1: {exc}") from exc
    _check_header(header)

    rows: list[ParsedRow] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FileRejected(f"line {line}: {exc}") from exc
        if not any(c.strip() for c in cells):
            continue  # a blank line is not a row
        if len(rows) == MAX_ROWS:
            raise FileRejected(f"file: more than {MAX_ROWS} rows; split it")
        rows.append(parse_row(line, header, cells))
    return rows


def _check_header(header: list[str]) -> None:
    if len(set(header)) != len(header):
        repeated = sorted({h for h in header if header.count(h) > 1})
        raise FileRejected(f"header: repeated columns: {', '.join(repeated)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise FileRejected(
            f"header: unknown columns: {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise FileRejected(f"header: missing columns: {', '.join(missing)}")


def parse_row(line: int, header: list[str], cells: list[str]) -> ParsedRow:
    if len(cells) > len(header):
        return ParsedRow(line, None, [f"row: {len(cells)} cells but the header names {len(header)} columns"])
    values = {name: cell.strip() for name, cell in zip(header, cells, strict=False) if cell.strip()}
    try:
        return ParsedRow(line, ImportRow.model_validate(values))
    except ValidationError as exc:
        return ParsedRow(line, None, errors_of(exc))


#: Plainer words than pydantic's for what people get wrong in spreadsheets.
_MESSAGES = {
    "missing": "required",
    "uuid_parsing": "not a valid id (UUID)",
    "uuid_type": "not a valid id (UUID)",
    "date_from_datetime_parsing": "not a date (YYYY-MM-DD or DD/MM/YYYY)",
    "date_parsing": "not a date (YYYY-MM-DD or DD/MM/YYYY)",
}


def errors_of(exc: ValidationError) -> list[str]:
    """`column: what is wrong`, one per problem, in the words of the capture rules."""
    out = []
    for err in exc.errors():
        where = str(err["loc"][0]) if err["loc"] else "row"
        message = _MESSAGES.get(err["type"]) or str(err["msg"]).removeprefix("Value error, ")
        out.append(f"{where}: {message}")
    return out
