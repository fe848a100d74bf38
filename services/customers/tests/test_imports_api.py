"""Bringing customer lists in from CSV and Excel files: preview, then commit."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook

from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import Harness

pytestmark = pytest.mark.integration

REGISTERED = "customers.customer.registered.v1"
PROMOTED = "customers.customer.promoted_to_traditional.v1"
HEADER = ["name", "contact_name", "phone", "email", "address", "region_code", "stage", "grade", "owner"]


def unique_phone() -> str:
    return "09" + str(uuid.uuid4().int)[:8]


def csv_bytes(rows: list[list[str]], *, bom: bool = True) -> bytes:
    lines = [",".join(HEADER)] + [",".join(f'"{c}"' if "," in c else c for c in row) for row in rows]
    return ("\ufeff" if bom else "").encode() + "\r\n".join(lines).encode("utf-8")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Khách hàng"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(harness: Harness, who: Staff, name: str, content: bytes) -> Any:
    return await harness.http.post(
        "/api/customers/imports",
        headers=who.headers,
        files={"file": (name, content, "application/octet-stream")},
    )


async def test_a_csv_is_previewed_row_by_row_then_committed_once(
    harness: Harness, seller: Staff, other_seller: Staff
) -> None:
    existing_phone, existing_email = unique_phone(), f"kho.{uuid.uuid4().hex[:6]}@example.vn"
    existing = await harness.customer(
        seller, "Kho Vật tư Bắc Ninh", phone=existing_phone, email=existing_email
    )
    hoa_phat, dien_may = (
        f"Công ty Hòa Phát {uuid.uuid4().hex[:4]}",
        f"Cửa hàng Điện máy Xanh {uuid.uuid4().hex[:4]}",
    )
    blank = [""] * len(HEADER)
    content = csv_bytes(
        [
            [hoa_phat, "Nguyễn Văn Bình", "0912 000 001", "", "1 Lê Duẩn", "79", "traditional", "A", ""],  # 2
            [dien_may, "", unique_phone(), "", "", "01", "prospect", "VIP", seller.user.username],  # 3
            ["Tên khác, cùng số", "", existing_phone.replace("09", "+84 9", 1), "", "", "", "", "", ""],  # 4
            [hoa_phat.upper().replace("Ò", "O"), "", "", "", "", "", "", "", ""],  # 5: same folded name as 2
            ["Số sai", "", "12345", "", "", "", "", "", ""],  # 6
            ["Ai đó", "", "", "", "", "", "", "", "no.such.user"],  # 7
            ["Hai lỗi", "", "", "", "", "", "vip", "E", ""],  # 8
            blank,  # 9: skipped
            ["Của người khác", "", "", "", "", "", "", "", other_seller.user.username],  # 10
            ["Cùng email", "", "", existing_email.upper(), "", "", "", "", ""],  # 11
            ["", "Không tên", "", "", "", "", "", "", ""],  # 12
        ]
    )
    customers_before = await harness.scalar("SELECT count(*) FROM customers")

    response = await upload(harness, seller, "khach-hang.csv", content)
    assert response.status_code == 201, response.text
    preview = response.json()
    assert preview["status"] == "previewed"
    assert preview["file_name"] == "khach-hang.csv"
    assert preview["uploaded_by"] == str(seller.id)
    assert preview["total_rows"] == 10
    assert preview["to_import"] == [{"row": 2, "name": hoa_phat}, {"row": 3, "name": dien_may}]
    assert preview["duplicates"] == [
        {"row": 4, "matched_on": "phone", "duplicate_of": existing["id"]},
        {"row": 5, "matched_on": "name", "duplicate_of": 2},
        {"row": 11, "matched_on": "email", "duplicate_of": existing["id"]},
    ]
    rejected = {r["row"]: r["errors"] for r in preview["rejected"]}
    assert sorted(rejected) == [6, 7, 8, 10, 12]
    assert rejected[6][0].startswith("phone:")
    assert rejected[7][0].startswith("owner:") and "no.such.user" in rejected[7][0]
    assert [e.split(":")[0] for e in rejected[8]] == ["stage", "grade"]
    assert "manager" in rejected[10][0]
    assert rejected[12] == ["name: required"]
    assert preview["imported"] == []
    assert (
        await harness.scalar("SELECT count(*) FROM customers") == customers_before
    )  # a preview writes nothing

    found = await harness.http.get(f"/api/customers/imports/{preview['id']}", headers=seller.headers)
    assert found.json() == preview

    committed = await harness.http.post(
        f"/api/customers/imports/{preview['id']}/commit", headers=seller.headers
    )
    assert committed.status_code == 200, committed.text
    report = committed.json()
    assert report["status"] == "committed"
    assert [r["row"] for r in report["imported"]] == [2, 3]
    assert await harness.scalar("SELECT count(*) FROM customers") == customers_before + 2
    by_row = {r["row"]: r["customer_id"] for r in report["imported"]}

    first = (await harness.http.get(f"/api/customers/{by_row[2]}", headers=seller.headers)).json()
    assert (first["name"], first["phone"], first["lifecycle_stage"], first["grade"]) == (
        hoa_phat,
        "0912000001",
        "traditional",
        "A",
    )
    assert first["owner_id"] == str(seller.id) and first["source"] == "import"
    assert first["promoted_at"] is not None
    timeline = (await harness.http.get(f"/api/customers/{by_row[2]}/timeline", headers=seller.headers)).json()
    assert [e["kind"] for e in timeline] == ["imported"]
    assert timeline[0]["detail"]["import_id"] == preview["id"] and timeline[0]["detail"]["row"] == 2
    [registered] = await harness.outbox(REGISTERED, by_row[2])
    assert (registered["data"]["lifecycle_stage"], registered["data"]["grade"]) == ("traditional", "A")
    assert len(await harness.outbox(PROMOTED, by_row[2])) == 1  # sales and accounting open it
    [second] = await harness.outbox(REGISTERED, by_row[3])
    assert (second["data"]["lifecycle_stage"], second["data"]["grade"]) == ("prospect", "VIP")
    assert await harness.outbox(PROMOTED, by_row[3]) == []

    again = await harness.http.post(f"/api/customers/imports/{preview['id']}/commit", headers=seller.headers)
    assert again.status_code == 409
    assert await harness.scalar("SELECT count(*) FROM customers") == customers_before + 2
    later = (await harness.http.get(f"/api/customers/imports/{preview['id']}", headers=seller.headers)).json()
    assert later == report
    listed = (await harness.http.get("/api/customers/imports", headers=seller.headers)).json()
    [summary] = [i for i in listed["items"] if i["id"] == preview["id"]]
    assert (summary["status"], summary["imported"], summary["rejected"], summary["duplicates"]) == (
        "committed",
        2,
        5,
        3,
    )


async def test_an_xlsx_from_a_manager_may_name_owners_and_keeps_excel_numbers(
    harness: Harness, manager: Staff, seller: Staff
) -> None:
    leaver = await harness.staff(Role.SALESPERSON)
    await harness.deactivate(leaver)
    number = int(unique_phone())  # typed in Excel as a number: the leading 0 is gone
    content = xlsx_bytes(
        [
            [
                "Công ty TNHH Đức Thịnh",
                "Phạm Thị Hương",
                number,
                "huong@ducthinh.vn",
                "Đà Nẵng",
                "48",
                "",
                "B",
                seller.user.username,
            ],
            ["Nhà phân phối Ánh Dương", None, None, None, None, None, "inactive", "tier ii", None],
            ["Khách của người đã nghỉ", None, None, None, None, None, None, None, leaver.user.username],
        ]
    )
    response = await upload(harness, manager, "danh-sach.xlsx", content)
    assert response.status_code == 201, response.text
    preview = response.json()
    assert [r["row"] for r in preview["to_import"]] == [2, 3]
    assert [r["row"] for r in preview["rejected"]] == [4]
    assert "no longer active" in preview["rejected"][0]["errors"][0]

    report = (
        await harness.http.post(f"/api/customers/imports/{preview['id']}/commit", headers=manager.headers)
    ).json()
    ids = {r["row"]: r["customer_id"] for r in report["imported"]}
    duc_thinh = (await harness.http.get(f"/api/customers/{ids[2]}", headers=seller.headers)).json()
    assert duc_thinh["phone"] == f"0{number}"
    assert (duc_thinh["owner_id"], duc_thinh["grade"], duc_thinh["lifecycle_stage"]) == (
        str(seller.id),
        "B",
        "prospect",
    )
    anh_duong = (await harness.http.get(f"/api/customers/{ids[3]}", headers=manager.headers)).json()
    assert (anh_duong["owner_id"], anh_duong["grade"], anh_duong["lifecycle_stage"]) == (
        str(manager.id),
        "Tier II",
        "inactive",
    )


async def test_duplicates_are_checked_again_at_commit(harness: Harness, seller: Staff) -> None:
    phone = unique_phone()
    preview = (
        await upload(harness, seller, "a.csv", csv_bytes([["Khách mới", "", phone, "", "", "", "", "", ""]]))
    ).json()
    assert [r["row"] for r in preview["to_import"]] == [2]
    meanwhile = await harness.customer(seller, "Ai đó đã nhập trước", phone=phone)
    report = (
        await harness.http.post(f"/api/customers/imports/{preview['id']}/commit", headers=seller.headers)
    ).json()
    assert report["imported"] == [] and report["to_import"] == []
    assert report["duplicates"] == [{"row": 2, "matched_on": "phone", "duplicate_of": meanwhile["id"]}]
    assert await harness.scalar("SELECT count(*) FROM customers WHERE phone = :p", p=phone) == 1


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("a.csv", "name,phone\nCông ty Hòa,0912\n".encode("utf-16"), 422),
        ("a.csv", "name;phone\nCông ty Hòa;0912\n".encode("cp1252"), 422),
        ("a.xls", b"\xd0\xcf\x11\xe0 old excel", 422),
        ("a.xlsx", b"PK\x03\x04 not really a workbook", 422),
        ("a.csv", b"phone,email\n0912345678,a@b.vn\n", 422),
        ("a.csv", b"", 422),
        ("a.csv", b"name\n" + b"x\n" * 10_001, 413),
        ("a.csv", b"name\n" + b"x" * (5 * 1024 * 1024), 413),
    ],
)
async def test_a_file_that_cannot_be_read_is_refused_whole(
    harness: Harness, seller: Staff, name: str, content: bytes, code: int
) -> None:
    before = await harness.scalar("SELECT count(*) FROM customer_imports")
    response = await upload(harness, seller, name, content)
    assert response.status_code == code, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    assert await harness.scalar("SELECT count(*) FROM customer_imports") == before


async def test_imports_belong_to_their_uploader(
    harness: Harness, seller: Staff, other_seller: Staff, manager: Staff, marketer: Staff
) -> None:
    content = csv_bytes([[f"Khách {uuid.uuid4().hex[:6]}", "", "", "", "", "", "", "", ""]])
    assert (await upload(harness, marketer, "a.csv", content)).status_code == 403
    assert (await harness.http.post("/api/customers/imports", headers=seller.headers)).status_code == 422
    preview = (await upload(harness, seller, "a.csv", content)).json()
    url = f"/api/customers/imports/{preview['id']}"
    assert (await harness.http.get(url, headers=other_seller.headers)).status_code == 404
    assert (await harness.http.post(f"{url}/commit", headers=other_seller.headers)).status_code == 404
    assert (await harness.http.post(f"{url}/commit", headers=marketer.headers)).status_code == 403
    others = (await harness.http.get("/api/customers/imports?limit=200", headers=other_seller.headers)).json()
    assert preview["id"] not in [i["id"] for i in others["items"]]
    assert (await harness.http.get(url, headers=marketer.headers)).status_code == 200
    committed = await harness.http.post(f"{url}/commit", headers=manager.headers)
    assert committed.status_code == 200
    [row] = committed.json()["imported"]
    customer = (await harness.http.get(f"/api/customers/{row['customer_id']}", headers=seller.headers)).json()
    assert customer["owner_id"] == str(seller.id)  # the uploader's, whoever committed
    assert (
        await harness.http.get(f"/api/customers/imports/{uuid.uuid4()}", headers=manager.headers)
    ).status_code == 404


def deflate_bomb() -> bytes:
    """A workbook of a few hundred KB whose sheet unpacks to 100 MB."""
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    sheet += b" " * 100_000_000 + b"</sheetData></worksheet>"
    source, out = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["name"], ["A"]]))), io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            part = sheet if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            bomb.writestr(item.filename, part)
    return out.getvalue()


async def test_a_deflate_bomb_is_413_at_the_file_while_the_service_keeps_answering(
    harness: Harness, seller: Staff
) -> None:
    bomb = deflate_bomb()
    assert len(bomb) < 1024 * 1024
    before = await harness.scalar("SELECT count(*) FROM customer_imports")

    async def health() -> float:
        started = time.monotonic()
        assert (await harness.http.get("/healthz")).status_code == 200
        return time.monotonic() - started

    response, waited = await asyncio.gather(upload(harness, seller, "bomb.xlsx", bomb), health())

    assert response.status_code == 413, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    assert "unpacked" in response.json()["detail"][0]["msg"]
    assert waited < 1
    assert await harness.scalar("SELECT count(*) FROM customer_imports") == before
