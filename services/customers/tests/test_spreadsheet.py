"""Reading customer files and checking their rows (spreadsheet.py): no I/O."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from crm_kit.spreadsheet import FileProblem, TooLarge
from customers.domain import Stage
from customers.imports import read_table
from customers.spreadsheet import CleanRow, check_row

pytestmark = pytest.mark.unit


def row(**values: str) -> dict[str, str]:
    return {"name": "Công ty Hòa Phát", **values}


def test_a_good_row_is_cleaned() -> None:
    clean = check_row(
        7,
        row(
            name="  Công ty   Hòa Phát ",
            phone="+84 912.345.678",
            email=" Sales@HoaPhat.VN ",
            region_code="79",
            stage="Traditional",
            grade="tier i",
            owner=" Lan.Tran ",
        ),
    )
    assert isinstance(clean, CleanRow)
    assert (clean.row, clean.name, clean.name_folded) == (7, "Công ty Hòa Phát", "cong ty hoa phat")
    assert (clean.phone, clean.email, clean.region_code) == ("0912345678", "sales@hoaphat.vn", "79")
    assert (clean.stage, clean.grade, clean.owner) == (Stage.TRADITIONAL, "Tier I", "lan.tran")


def test_blank_optional_cells_take_their_defaults() -> None:
    clean = check_row(2, {"name": "Đại lý Minh Long"})
    assert isinstance(clean, CleanRow)
    assert (clean.stage, clean.grade, clean.owner, clean.phone, clean.email) == (
        Stage.PROSPECT,
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("values", "columns"),
    [
        ({"name": ""}, ["name"]),
        (row(phone="12345"), ["phone"]),
        (row(email="not-mail"), ["email"]),
        (row(region_code="Hà Nội"), ["region_code"]),
        (row(stage="vip"), ["stage"]),
        (row(grade="E"), ["grade"]),
        (row(name="x" * 201), ["name"]),
        ({"name": "", "phone": "1", "stage": "lost", "grade": "Z"}, ["phone", "stage", "grade", "name"]),
    ],
)
def test_every_problem_of_a_row_is_named_by_column(values: dict[str, str], columns: list[str]) -> None:
    problems = check_row(3, values)
    assert isinstance(problems, list)
    assert sorted(p.split(":")[0] for p in problems) == sorted(columns)


def test_a_csv_with_a_bom_and_any_header_case_is_read_with_spreadsheet_row_numbers() -> None:
    content = (
        "\ufeffName , Phone,Ghi chú\r\nCông ty Hòa Phát,0912345678,x\r\n,,\r\nĐại lý Minh Long,,\r\n".encode()
    )
    table = read_table("khach.CSV", content, max_rows=10)
    assert table.rows == [
        {"row": 2, "values": {"name": "Công ty Hòa Phát", "phone": "0912345678"}},
        {"row": 4, "values": {"name": "Đại lý Minh Long", "phone": ""}},
    ]
    assert table.ignored_columns == ["ghi_chú"]


def test_a_semicolon_csv_with_quoted_fields_is_read() -> None:
    content = 'name;address\n"Công ty A; chi nhánh 2";"1 Lê Lợi\nQuận 1"\n'.encode()
    table = read_table("a.csv", content, max_rows=10)
    assert table.rows[0]["values"] == {"name": "Công ty A; chi nhánh 2", "address": "1 Lê Lợi\nQuận 1"}


def test_an_xlsx_is_read_from_its_first_sheet_and_numbers_keep_their_meaning() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "phone", "region_code"])
    sheet.append(["Công ty Đức Thịnh", 912345678, 1])
    sheet.append([None, None, None])
    sheet.append(["Cửa hàng Sao Mai", 84912345679, "79"])
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table("danh-sach.xlsx", buffer.getvalue(), max_rows=10)
    assert table.rows == [
        {"row": 2, "values": {"name": "Công ty Đức Thịnh", "phone": "0912345678", "region_code": "01"}},
        {"row": 4, "values": {"name": "Cửa hàng Sao Mai", "phone": "84912345679", "region_code": "79"}},
    ]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("a.csv", "name\nHòa".encode("utf-16"), "UTF-8"),
        ("a.csv", b"phone\n0912345678\n", "'name' column"),
        ("a.csv", b"name,name\nA,B\n", "repeats"),
        ("a.csv", b"\n\n", "empty"),
        ("a.xls", b"\xd0\xcf\x11\xe0", ".csv"),
        ("a.xlsx", b"PK\x03\x04garbage", "xlsx"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(name: str, content: bytes, says: str) -> None:
    with pytest.raises(FileProblem) as caught:
        read_table(name, content, max_rows=10)
    assert says in str(caught.value)


def test_too_many_rows_is_refused() -> None:
    read_table("a.csv", b"name\n" + b"x\n" * 10, max_rows=10)
    with pytest.raises(TooLarge):
        read_table("a.csv", b"name\n" + b"x\n" * 11, max_rows=10)
