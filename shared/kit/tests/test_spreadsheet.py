"""`crm_kit.spreadsheet`: the one reader behind every import (CSV and .xlsx)."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook

from crm_kit import spreadsheet

pytestmark = pytest.mark.unit

LIMITS = {"max_bytes": 1024 * 1024, "max_rows": 100}


def xlsx(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_a_csv_file_is_read_whatever_its_delimiter(delimiter: str) -> None:
    content = delimiter.join(["Name", "Phone number", "region-code"]) + "\n"
    content += delimiter.join(["Công ty Hòa Bình", "0912 345 678", "01"]) + "\n"
    sheet = spreadsheet.read("khach.csv", content.encode(), **LIMITS)
    assert sheet.header == ["name", "phone_number", "region_code"]
    assert [row.number for row in sheet.rows] == [2]
    assert sheet.rows[0].values(sheet.header) == {
        "name": "Công ty Hòa Bình",
        "phone_number": "0912 345 678",
        "region_code": "01",
    }


def test_a_csv_with_commas_inside_quotes_keeps_its_cells() -> None:
    content = 'name;note\n"Hòa Bình, chi nhánh 2";"a; b"\n'.encode()
    sheet = spreadsheet.read("a.csv", content, **LIMITS)
    assert sheet.rows[0].values(sheet.header) == {"name": "Hòa Bình, chi nhánh 2", "note": "a; b"}


def test_excels_bom_and_blank_rows_are_no_rows_and_row_numbers_are_the_files() -> None:
    content = "\ufeffname,phone\n\nA,1\n,\nB,2\n".encode()
    sheet = spreadsheet.read("a.csv", content, **LIMITS)
    assert sheet.header == ["name", "phone"]
    assert [(row.number, row.values(sheet.header)["name"]) for row in sheet.rows] == [(3, "A"), (5, "B")]


def test_an_xlsx_sheet_gives_back_what_excel_did_to_numbers() -> None:
    content = xlsx(
        ["name", "phone", "region_code", "amount", "starts_on"],
        ["Hòa Bình", 912345678, 1, 1500000.0, date(2027, 3, 1)],
    )
    sheet = spreadsheet.read("khach.xlsx", content, **LIMITS)
    assert sheet.rows[0].values(sheet.header) == {
        "name": "Hòa Bình",
        "phone": "0912345678",
        "region_code": "01",
        "amount": "1500000",
        "starts_on": "2027-03-01",
    }
    assert sheet.rows[0].number == 2


def test_an_xlsx_file_is_known_by_its_content_when_its_name_says_nothing() -> None:
    sheet = spreadsheet.read("upload", xlsx(["name"], ["A"]), **LIMITS)
    assert sheet.rows[0].cells == ["A"]


@pytest.mark.parametrize(
    ("name", "content", "error", "words"),
    [
        (
            "a.csv",
            "name\nHòa\n".encode("cp1252", errors="replace") + b"\xff",
            spreadsheet.FileProblem,
            "UTF-8",
        ),
        ("a.pdf", b"%PDF-1.4", spreadsheet.FileProblem, ".csv (UTF-8) or .xlsx"),
        ("a.csv", b"", spreadsheet.FileProblem, "empty"),
        ("a.csv", b"\n \n", spreadsheet.FileProblem, "empty"),
        ("a.csv", b"name,phone,name\nA,1,B\n", spreadsheet.RepeatedColumns, "repeats the column(s) name"),
        ("a.xlsx", b"PK\x03\x04 not really a zip", spreadsheet.FileProblem, "not a readable .xlsx"),
        ("a.csv", b"name\n" + b"x\n" * 101, spreadsheet.TooManyRows, "more than 100 rows"),
        ("a.csv", b"name\n" + b"x" * (1024 * 1024), spreadsheet.TooLarge, "larger than 1 MB"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_reason(
    name: str, content: bytes, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as refused:
        spreadsheet.read(name, content, **LIMITS)
    assert words in str(refused.value)


def test_the_errors_answer_422_and_413() -> None:
    assert spreadsheet.FileProblem("x").status_code == 422
    assert spreadsheet.TooManyRows("x").status_code == 422
    assert spreadsheet.TooLarge("x").status_code == 413


def test_columns_past_the_limit_are_not_read() -> None:
    content = (",".join(f"c{i}" for i in range(10)) + "\n" + ",".join("v" * 10) + "\n").encode()
    sheet = spreadsheet.read("a.csv", content, max_columns=3, **LIMITS)
    assert sheet.header == ["c0", "c1", "c2"]


def test_missing_and_unknown_columns_are_named() -> None:
    sheet = spreadsheet.read("a.csv", b"name,colour\nA,red\n", **LIMITS)
    assert spreadsheet.missing_columns(sheet, ("name", "source")) == ["source"]
    assert spreadsheet.unknown_columns(sheet, ("name", "source")) == ["colour"]


# -- hostile files (issue 16: spreadsheet bombs) --------------------------------------------------


def rezipped(content: bytes, replace: dict[str, bytes]) -> bytes:
    """The .xlsx `content` with some of its parts replaced, deflated as Excel does."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as made,
    ):
        for item in source.infolist():
            made.writestr(item.filename, replace.get(item.filename, source.read(item.filename)))
        for name, data in replace.items():
            if name not in source.namelist():
                made.writestr(name, data)
    return out.getvalue()


def test_a_deflate_bomb_is_refused_before_it_is_inflated() -> None:
    """A few hundred KB that inflate to 300 MB of worksheet: 413 without reading it."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + b" " * 300_000_000
        + b"</sheetData></worksheet>"
    )
    bomb = rezipped(xlsx(["name"], ["A"]), {"xl/worksheets/sheet1.xml": sheet})
    assert len(bomb) < LIMITS["max_bytes"]
    started = time.monotonic()
    with pytest.raises(spreadsheet.TooLarge, match="unpacked"):
        spreadsheet.read("bomb.xlsx", bomb, **LIMITS)
    assert time.monotonic() - started < 1


def test_a_cell_far_down_the_sheet_counts_the_rows_skipped_to_reach_it() -> None:
    """One cell at row 1,000,000 under a header: the blank rows before it are read too, so
    they count against the limit instead of keeping the service busy."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "name"
    sheet["A1000000"] = "far"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(spreadsheet.TooManyRows):
        spreadsheet.read("far.xlsx", out.getvalue(), **LIMITS)


def test_blank_lines_count_against_the_rows_a_csv_may_have() -> None:
    content = ("name\n" + "\n" * 10_000 + "A\n").encode()
    with pytest.raises(spreadsheet.TooManyRows):
        spreadsheet.read("blank.csv", content, **LIMITS)
