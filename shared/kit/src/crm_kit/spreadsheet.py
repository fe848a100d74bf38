"""Reading the tables people keep in files: CSV (any of , ; or tab) and Excel .xlsx.

Every import (customers, leads, market volumes) reads its file here, then checks each
row with its own rules::

    sheet = spreadsheet.read(upload.filename, content, max_bytes=5 << 20, max_rows=10_000)
    for row in sheet.rows:
        values = row.values(sheet.header)      # {"name": "Công ty Hòa Bình", ...}

Row numbers are the spreadsheet's own (the header is row 1), so a report's "row 7" is
the row the user sees as 7 in Excel. No I/O beyond the bytes handed in.
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

from pydantic import BaseModel

from . import errors

#: Columns read from a sheet at most; anything to the right is not looked at.
MAX_COLUMNS = 100
#: What an .xlsx file may unpack to (its parts' sizes as the zip declares them, which
#: bound what is read): a deflate or shared-strings bomb is refused before it is inflated.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
#: Blank rows read beyond `max_rows` before the file is refused: blank rows cost reading
#: too (a cell far down a sheet makes every row above it).
BLANK_ROW_ALLOWANCE = 1000
_DIGITS = re.compile(r"^[0-9]{8,11}$")
XLSX_MAGIC = b"PK\x03\x04"


class FileProblem(errors.Invalid):
    """The file as a whole cannot be read (its type, encoding, header or size): 422."""


class TooManyRows(FileProblem):
    """More data rows than the import takes at once."""


class RepeatedColumns(FileProblem):
    """The header names a column more than once (which of the two would count?)."""

    def __init__(self, columns: list[str]) -> None:
        super().__init__(
            f"the header row repeats the column(s) {', '.join(columns)}",
            code="file.repeated_columns",
            params={"columns": columns},
        )
        self.columns = columns


class TooLarge(errors.TooLarge):
    """More bytes than the import takes: 413."""


class RowProblem(BaseModel):
    """One problem of an imported row, as every import reports it: its column ("row" for
    the row as a whole), a stable code and its params (what a client says in its own
    words, as for a refusal's `detail`), and the English."""

    column: str
    code: str
    params: dict[str, Any] = {}
    message: str

    def text(self) -> str:
        """`column: message`, the English of a report's `errors`."""
        return f"{self.column}: {self.message}"


#: (row number, cells) of a sheet, read lazily.
Grid = Iterator[tuple[int, list[Any]]]


@dataclass(frozen=True)
class Row:
    #: The spreadsheet's row number (a CSV file's line where the row starts).
    number: int
    #: The cells as the file holds them: text from a CSV file, numbers and dates from .xlsx.
    cells: list[Any]

    def values(self, header: list[str]) -> dict[str, str]:
        """`{column: text}` of every named column, each cell as text (see `cell_text`)."""
        return {
            column: cell_text(column, self.cells[i] if i < len(self.cells) else None)
            for i, column in enumerate(header)
            if column
        }


@dataclass(frozen=True)
class Sheet:
    #: The first non-blank row's names, lower-case, spaces and dashes as `_`.
    header: list[str]
    #: Every non-blank row under the header.
    rows: list[Row]


def read(
    file_name: str | None,
    content: bytes,
    *,
    max_bytes: int,
    max_rows: int,
    max_columns: int = MAX_COLUMNS,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
) -> Sheet:
    """The header and rows of a .csv (UTF-8, a BOM tolerated) or .xlsx (first sheet) file.

    Raises `TooLarge` past `max_bytes` (or an .xlsx unpacking past `max_unpacked_bytes`),
    `TooManyRows` past `max_rows` data rows or `max_rows` + `BLANK_ROW_ALLOWANCE` rows
    read, blank ones included (read lazily: refused as soon as a limit is passed),
    `FileProblem` for anything else that makes the file unreadable: an unknown type,
    text not in UTF-8, an empty file, a header naming a column twice. Blocking (it
    parses): a route runs it, with what it parses the rows into, in `asyncio.to_thread`.
    """
    if len(content) > max_bytes:
        raise TooLarge(
            f"the file is larger than {_size(max_bytes)}; split it",
            code="file_too_large",
            params={"size": _size(max_bytes)},
        )
    grid = _grid(file_name or "", content, max_columns, max_unpacked_bytes)
    header: list[str] | None = None
    rows: list[Row] = []
    most_read = max_rows + BLANK_ROW_ALLOWANCE
    for read_so_far, (number, cells) in enumerate(grid, start=1):
        if read_so_far > most_read:
            raise TooManyRows(
                f"the file has more than {most_read} rows, blank ones included; "
                "delete the empty rows or split it",
                code="file.too_many_rows_with_blanks",
                params={"rows": most_read},
            )
        if not any(text(c).strip() for c in cells):
            continue
        if header is None:
            header = _header(cells)
            repeated = sorted({h for h in header if h and header.count(h) > 1})
            if repeated:
                raise RepeatedColumns(repeated)
            continue
        if len(rows) == max_rows:
            raise TooManyRows(
                f"the file has more than {max_rows} rows; split it",
                code="file.too_many_rows",
                params={"rows": max_rows},
            )
        rows.append(Row(number, cells))
    if header is None:
        raise FileProblem("the file is empty: its first row must name the columns", code="file.empty")
    return Sheet(header=header, rows=rows)


def missing_columns(sheet: Sheet, required: tuple[str, ...]) -> list[str]:
    return [column for column in required if column not in sheet.header]


def unknown_columns(sheet: Sheet, known: tuple[str, ...]) -> list[str]:
    return [column for column in sheet.header if column and column not in known]


def check_header(sheet: Sheet, required: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    """Refuse (FileProblem, a 422) a header that lacks a required column or names one
    not in `allowed`, saying which and what the columns are."""
    missing = missing_columns(sheet, required)
    if missing:
        raise FileProblem(
            f"the header lacks the column(s) {', '.join(missing)}",
            code="file.missing_columns",
            params={"columns": missing},
        )
    unexpected = unknown_columns(sheet, allowed)
    if unexpected:
        raise FileProblem(
            f"unknown column(s) {', '.join(unexpected)}; the columns are {', '.join(allowed)}",
            code="file.unknown_columns",
            params={"columns": unexpected, "allowed": allowed},
        )


def text(value: Any) -> str:
    """A cell as a person reads it: 12.0 is "12", a date "2027-03-01", nothing is ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date().isoformat()  # Excel keeps a date typed into a cell as midnight
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def cell_text(column: str, value: Any) -> str:
    """`text`, stripped, undoing what Excel does to codes typed as numbers."""
    result = text(value).strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if column == "phone" and _DIGITS.match(result) and not result.startswith(("0", "84")):
            # 0912345678 typed into a number cell is stored as 912345678: give it its 0 back.
            result = "0" + result
        if column == "region_code":
            result = result.zfill(2)  # province 01 (Hà Nội) typed as a number is 1
    return result


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def _grid(
    file_name: str, content: bytes, max_columns: int, max_unpacked_bytes: int = MAX_UNPACKED_BYTES
) -> Grid:
    lowered = file_name.lower()
    if lowered.endswith(".xlsx") or (not lowered.endswith(".csv") and content[:4] == XLSX_MAGIC):
        _check_unpacked(content, max_unpacked_bytes)
        return _xlsx_rows(content, max_columns)
    if lowered.endswith((".csv", ".txt")) or not lowered.rpartition(".")[1]:
        return _csv_rows(content, max_columns)
    raise FileProblem("the file must be a .csv (UTF-8) or .xlsx spreadsheet", code="file.wrong_type")


def _delimiter(first_line: str) -> str:
    """The delimiter of the header row: `,`, `;` (Excel in a Vietnamese locale) or tab."""
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        return max((",", ";", "\t"), key=first_line.count)


def _csv_rows(content: bytes, max_columns: int) -> Grid:
    try:
        decoded = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"the file is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8' or .xlsx",
            code="file.not_utf8",
            params={"byte": exc.start},
        ) from exc
    first_line = next((line for line in decoded.splitlines() if line.strip()), "")
    reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=_delimiter(first_line))

    def rows() -> Grid:
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(
                    f"the CSV file cannot be read at line {line}: {exc}",
                    code="file.csv_unreadable",
                    params={"line": line},
                ) from exc
            yield line, cells[:max_columns]

    return rows()


def _check_unpacked(content: bytes, limit: int) -> None:
    """Refuse a workbook whose parts unpack past `limit` (the sizes the zip declares; a
    part is never read past its declared size, so they bound what reading costs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as packed:
            unpacked = sum(item.file_size for item in packed.infolist())
    except zipfile.BadZipFile as exc:
        raise FileProblem(
            "the file is not a readable .xlsx workbook (BadZipFile)", code="file.xlsx_unreadable"
        ) from exc
    if unpacked > limit:
        raise TooLarge(
            f"the workbook unpacked is larger than {_size(limit)}; split it",
            code="workbook_too_large",
            params={"size": _size(limit)},
        )


def _xlsx_rows(content: bytes, max_columns: int) -> Grid:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(
            f"the file is not a readable .xlsx workbook ({type(exc).__name__})", code="file.xlsx_unreadable"
        ) from exc
    if not book.worksheets:
        book.close()
        raise FileProblem("the workbook has no sheet", code="file.no_sheet")

    def rows() -> Grid:
        try:
            sheet = book.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=max_columns), start=1):
                cells = list(values)
                while cells and cells[-1] is None:  # read-only sheets pad rows to `max_col`
                    cells.pop()
                yield number, cells
        finally:
            book.close()

    return rows()


def _header(cells: list[Any]) -> list[str]:
    names = [re.sub(r"[\s\-]+", "_", text(c).strip().lower().lstrip("\ufeff")) for c in cells]
    while names and not names[-1]:
        names.pop()
    return names
