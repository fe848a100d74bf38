"""Reading customer lists out of the files people keep (CSV or Excel), and checking each
row. No I/O beyond the bytes handed in: owners and duplicates are checked by `imports`.

Row numbers are the spreadsheet's own (the header is row 1), so a report's "row 7" is
the row the user sees as 7 in Excel.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from crm_kit.text import fold, normalize_email, normalize_vn_phone

from .domain import Stage, canonical_grade

COLUMNS = (
    "name",
    "contact_name",
    "phone",
    "email",
    "address",
    "region_code",
    "stage",
    "grade",
    "owner",
)
MAX_COLUMNS = 100
#: Longest text any cell may hold; anything longer is refused as a row error.
MAX_CELL = 500
_LIMITS = {"name": 200, "contact_name": 200, "address": 500, "owner": 50}
_REGION = re.compile(r"^[0-9A-Z]{1,10}$")
_DIGITS = re.compile(r"^[0-9]{8,11}$")


class FileProblem(ValueError):
    """The file as a whole cannot be read (its type, encoding, header or size)."""


class TooLarge(FileProblem):
    pass


#: (row number, cells) of a sheet, read lazily.
Grid = Iterator[tuple[int, list[Any]]]


@dataclass(frozen=True)
class Table:
    #: [{"row": n, "values": {column: text}}] for every non-blank data row.
    rows: list[dict[str, Any]]
    ignored_columns: list[str]


def read_table(file_name: str, content: bytes, *, max_rows: int) -> Table:
    """The rows of a .csv (UTF-8, a BOM tolerated) or .xlsx (its first sheet) file."""
    lowered = file_name.lower()
    if lowered.endswith(".xlsx") or (not lowered.endswith(".csv") and content[:4] == b"PK\x03\x04"):
        grid = _xlsx_rows(content)
    elif lowered.endswith(".csv") or not lowered.rpartition(".")[1]:
        grid = _csv_rows(content)
    else:
        raise FileProblem("the file must be a .csv (UTF-8) or .xlsx spreadsheet")
    return _table(grid, max_rows=max_rows)


def _csv_rows(content: bytes) -> Grid:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"the CSV file is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'"
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Grid:
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise FileProblem(f"the CSV file cannot be read at line {reader.line_num}: {exc}") from exc

    return rows()


def _xlsx_rows(content: bytes) -> Grid:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"the file is not a readable .xlsx workbook ({type(exc).__name__})") from exc
    if not book.worksheets:
        book.close()
        raise FileProblem("the workbook has no sheet")

    def rows() -> Grid:
        try:
            sheet = book.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
                yield number, list(values)
        finally:
            book.close()

    return rows()


def _header(cells: list[Any]) -> list[str]:
    names = [re.sub(r"[\s\-]+", "_", _text(c).strip().lower().lstrip("\ufeff")) for c in cells]
    while names and not names[-1]:
        names.pop()
    return names


def _table(grid: Grid, *, max_rows: int) -> Table:
    """The rows under the first non-blank row (the header); read lazily, so a file
    with too many rows is refused as soon as the limit is passed."""
    header: list[str] | None = None
    ignored: list[str] = []
    rows: list[dict[str, Any]] = []
    for number, cells in grid:
        if not any(_text(c).strip() for c in cells):
            continue
        if header is None:
            header = _header(cells)
            if "name" not in header:
                raise FileProblem(f"the header row has no 'name' column (columns: {', '.join(COLUMNS)})")
            repeated = sorted({h for h in header if h and header.count(h) > 1})
            if repeated:
                raise FileProblem(f"the header row repeats the column(s) {', '.join(repeated)}")
            ignored = [h for h in header if h and h not in COLUMNS]
            continue
        if len(rows) == max_rows:
            raise TooLarge(f"the file has more than {max_rows} rows; split it")
        values = {
            column: _cell(column, cells[i] if i < len(cells) else None)
            for i, column in enumerate(header)
            if column in COLUMNS
        }
        rows.append({"row": number, "values": values})
    if header is None:
        raise FileProblem("the file is empty: it needs a header row with a 'name' column")
    return Table(rows=rows, ignored_columns=ignored)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _cell(column: str, value: Any) -> str:
    text = _text(value).strip()
    if column == "phone" and isinstance(value, int | float) and not isinstance(value, bool):
        # Excel stores 0912345678 typed as a number as 912345678: give it its 0 back.
        if _DIGITS.match(text) and not text.startswith(("0", "84")):
            text = "0" + text
    if column == "region_code" and isinstance(value, int | float) and not isinstance(value, bool):
        text = text.zfill(2)  # province 01 (Hà Nội) typed as a number is 1
    return text


# -- one row ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanRow:
    row: int
    name: str
    name_folded: str
    contact_name: str | None
    phone: str | None
    email: str | None
    address: str | None
    region_code: str | None
    stage: Stage
    grade: str | None
    #: The username in the `owner` column (lower-case), or None for the uploader.
    owner: str | None


def check_row(row: int, values: dict[str, str]) -> CleanRow | list[str]:
    """The row ready to import, or every problem with it as "column: what is wrong"."""
    errors: list[str] = []
    cells = {k: (values.get(k) or "").strip() for k in COLUMNS}
    for column, text in cells.items():
        limit = _LIMITS.get(column, MAX_CELL)
        if len(text) > limit:
            errors.append(f"{column}: longer than {limit} characters")
            cells[column] = ""

    name = " ".join(cells["name"].split())
    if not name and not any("name:" in e for e in errors):
        errors.append("name: required")

    phone = None
    if cells["phone"]:
        phone = normalize_vn_phone(cells["phone"])
        if phone is None:
            errors.append(f"phone: {cells['phone']!r} is not a Vietnamese phone number")

    email = None
    if cells["email"]:
        try:
            email = normalize_email(validate_email(cells["email"], check_deliverability=False).normalized)
        except EmailNotValidError as exc:
            errors.append(f"email: {exc}")

    region = cells["region_code"].upper() or None
    if region is not None and not _REGION.match(region):
        errors.append(f"region_code: {cells['region_code']!r} is not a province code")

    stage = Stage.PROSPECT
    if cells["stage"]:
        try:
            stage = Stage(cells["stage"].lower())
        except ValueError:
            errors.append(f"stage: {cells['stage']!r} is not one of {', '.join(Stage)}")

    grade = None
    if cells["grade"]:
        grade = canonical_grade(cells["grade"])
        if grade is None:
            errors.append(
                f"grade: {cells['grade']!r} is not one of A, B, C, D, VIP, Tier I, Tier II, Tier III"
            )

    if errors:
        return errors
    return CleanRow(
        row=row,
        name=name,
        name_folded=fold(name),
        contact_name=cells["contact_name"] or None,
        phone=phone,
        email=email,
        address=cells["address"] or None,
        region_code=region,
        stage=stage,
        grade=grade,
        owner=cells["owner"].lower() or None,
    )
