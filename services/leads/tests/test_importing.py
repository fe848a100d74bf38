"""Reading a CSV file of leads, row by row, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_kit.errors import DomainError as FileRejected
from leads.importing import MAX_BYTES, MAX_ROWS, parse

pytestmark = pytest.mark.unit

HEADER = "full_name,company,phone,email,source,region_code,campaign_id,owner,planned_contact_on,note"


def rows(*lines: str, header: str = HEADER) -> list:  # type: ignore[type-arg]
    return parse(("\n".join([header, *lines]) + "\n").encode("utf-8"))


def test_a_good_row_becomes_a_capture() -> None:
    [row] = rows(
        "Nguyễn Thị Hồng,Công ty Hòa Phát,0912 345 678,Hong@Example.VN,Trade_Fair,hn,,,2026-12-05,Gọi lại"
    )
    assert row.line == 2
    assert row.errors == []
    assert row.row is not None
    capture = row.row.capture()
    assert capture.full_name == "Nguyễn Thị Hồng"
    assert capture.company == "Công ty Hòa Phát"
    assert capture.phone == "0912 345 678"
    assert capture.email == "hong@example.vn"
    assert capture.source == "trade_fair"
    assert capture.region_code == "HN"
    assert capture.approach_plan is not None
    assert capture.approach_plan.planned_contact_on == dt.date(2026, 12, 5)
    assert capture.approach_plan.note == "Gọi lại"
    assert row.row.owner is None


def test_a_bom_and_windows_line_ends_are_tolerated() -> None:
    content = ("\ufeff" + HEADER + "\r\nTrần Văn Bình,,,,press,,,,,\r\n").encode()
    [row] = parse(content)
    assert row.row is not None and row.row.full_name == "Trần Văn Bình"


def test_vietnamese_dates_are_read_day_first() -> None:
    [row] = rows("A,,,,press,,,,05/12/2026,")
    assert row.row is not None and row.row.planned_contact_on == dt.date(2026, 12, 5)
    [row] = rows("A,,,,press,,,,12/2026,")
    assert row.errors == ["planned_contact_on: not a date (YYYY-MM-DD or DD/MM/YYYY)"]


def test_each_problem_is_named_by_its_column() -> None:
    [row] = rows(",,12345,not-an-email,radio,h-n,not-a-uuid,,31/02/2026,")
    assert row.row is None
    assert row.errors == [
        "full_name: required",
        "phone: not a Vietnamese phone number",
        "email: value is not a valid email address: An email address must have an @-sign.",
        "source: Input should be 'internet', 'press', 'partner_referral', 'trade_fair', 'walk_in', "
        "'campaign' or 'other'",
        "region_code: String should match pattern '^[0-9A-Z]{1,10}$'",
        "campaign_id: not a valid id (UUID)",
        "planned_contact_on: not a date: 31/02/2026",
    ]


def test_line_numbers_count_blank_lines_and_multi_line_cells() -> None:
    parsed = rows(
        "A,,,,press,,,,,",
        "",
        'B,,,,press,,,,,"a note',
        'on two lines"',
        "C,,,,radio,,,,,",
    )
    assert [(r.line, r.errors) for r in parsed] == [
        (2, []),
        (4, []),
        (6, ["source: Input should be 'internet', 'press', 'partner_referral', 'trade_fair', "
             "'walk_in', 'campaign' or 'other'"]),
    ]  # fmt: skip
    assert parsed[1].row is not None and parsed[1].row.note == "a note\non two lines"


def test_a_row_with_more_cells_than_columns_is_rejected() -> None:
    [row] = rows("A,,,,press,,,,,,extra")
    assert row.errors == ["row: 11 cells but the header names 10 columns"]


def test_a_short_row_leaves_the_rest_blank() -> None:
    [row] = rows("A,,,,press")
    assert row.row is not None and row.row.company is None


def test_columns_may_come_in_any_order_and_only_two_are_required() -> None:
    [row] = rows("press,Lê Văn Cường", header="Source,FULL_NAME")
    assert row.row is not None and row.row.full_name == "Lê Văn Cường"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("full_name,company", "header: missing columns: source"),
        ("full_name,source,phone_number", "header: unknown columns: phone_number"),
        ("full_name,source,source", "header: repeated columns: source"),
    ],
)
def test_a_bad_header_rejects_the_file(header: str, problem: str) -> None:
    with pytest.raises(FileRejected, match=problem):
        rows("A,press", header=header)


def test_an_empty_file_or_a_non_utf8_file_is_rejected() -> None:
    with pytest.raises(FileRejected, match="empty"):
        parse(b"")
    with pytest.raises(FileRejected, match="not UTF-8"):
        parse("full_name,source\nHòa,press\n".encode("latin-1"))


def test_too_many_rows_or_bytes_reject_the_file() -> None:
    with pytest.raises(FileRejected, match=f"more than {MAX_ROWS} rows"):
        rows(*(["A,,,,press,,,,,"] * (MAX_ROWS + 1)))
    assert len(rows(*(["A,,,,press,,,,,"] * MAX_ROWS))) == MAX_ROWS
    with pytest.raises(FileRejected, match="larger than 5 MB"):
        parse(b"x" * (MAX_BYTES + 1))
