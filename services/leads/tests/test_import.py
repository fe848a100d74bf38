"""Spreadsheet import (CSV, .xlsx) against the real database: good rows in, bad rows and
duplicates reported."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from openpyxl import Workbook

from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import LeadsService

pytestmark = pytest.mark.integration

COLUMNS = [
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
]
SOURCES = ["internet", "press", "partner_referral", "trade_fair", "walk_in", "campaign", "other"]


def to_csv(rows: list[dict[str, str]], *, bom: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


async def upload(leads: LeadsService, who: Staff, content: bytes, *, name: str = "leads.csv") -> Any:
    return await leads.http.post(
        "/api/leads/import", headers=who.headers, files={"file": (name, content, "text/csv")}
    )


async def counts(leads: LeadsService) -> tuple[int, int, int]:
    return (
        await leads.scalar("SELECT count(*) FROM leads"),
        await leads.scalar("SELECT count(*) FROM lead_history WHERE action = 'imported'"),
        await leads.scalar("SELECT count(*) FROM outbox WHERE routing_key = 'leads.lead.captured.v1'"),
    )


@dataclass
class Expected:
    duplicates: dict[int, dict[str, Any]] = field(default_factory=dict)
    rejected: dict[int, str] = field(default_factory=dict)
    good: dict[int, dict[str, str]] = field(default_factory=dict)


async def test_a_thousand_rows_with_duplicates_and_bad_rows(leads: LeadsService) -> None:
    importer = await leads.staff(Role.SALESPERSON)
    colleague = await leads.staff(Role.SALESPERSON)

    # Leads already in the database, some the importer's, some a colleague's.
    existing: list[dict[str, Any]] = []
    for i in range(15):
        owner = importer if i < 10 else colleague
        response = await leads.http.post(
            "/api/leads",
            headers=owner.headers,
            json={
                "full_name": f"Khách cũ {i}",
                "phone": f"0977 500 {i:03d}",
                "email": f"khachcu{i}@old.example.vn",
                "source": "walk_in",
            },
        )
        assert response.status_code == 201, response.text
        existing.append(response.json())

    def good(i: int) -> dict[str, str]:
        return {
            "full_name": f"Nguyễn Thị Hồng Nhung {i}",
            "company": f"Công ty TNHH Thương mại Đức Phát {i}" if i % 3 == 0 else "",
            "phone": f"08{i:08d}" if i % 2 == 0 else f"+84 86 {i:03d} {i:04d}",
            "email": f"nhung{i}@import.example.vn" if i % 4 != 1 else "",
            "source": SOURCES[i % len(SOURCES)],
            "region_code": ["HN", "hcm", "DN", ""][i % 4],
            "campaign_id": str(uuid.UUID(int=i + 1)) if i % 5 == 0 else "",
            "owner": "",
            "planned_contact_on": "05/12/2026" if i % 2 else "2026-12-06",
            "note": "Khách hàng tiềm năng ở Hà Nội, cần gọi lại" if i % 7 == 0 else "",
        }

    def row(**fields: str) -> dict[str, str]:
        return {c: "" for c in COLUMNS} | {"source": "press"} | fields

    # 50 special rows: 15 duplicates of the database, 15 of earlier rows, 20 bad.
    specials: list[tuple[str, dict[str, str], Any]] = []
    for i in range(10):
        specials.append(
            (
                "db",
                row(full_name=f"Trùng số {i}", phone=f"+84 977 500 {i:03d}"),
                (existing[i]["id"], ["phone"]),
            )
        )
    for i in range(10, 15):
        specials.append(
            (
                "db",
                row(full_name=f"Trùng mail {i}", email=f"KhachCu{i}@OLD.example.vn"),
                (existing[i]["id"], ["email"]),
            )
        )
    # Good rows 0..14 come before the first special row; these repeat some of them.
    for j in (0, 2, 4, 6, 8):
        digits = f"08{j:08d}"
        specials.append(
            (
                "file",
                row(full_name=f"Trùng số trong tệp {j}", phone=f"{digits[:4]}.{digits[4:]}"),
                (j, ["phone"]),
            )
        )
    for j in (2, 3, 4, 7, 8):
        specials.append(
            (
                "file",
                row(full_name=f"Trùng mail trong tệp {j}", email=f"NHUNG{j}@import.example.vn"),
                (j, ["email"]),
            )
        )
    for j in (0, 3, 6, 9, 12):
        specials.append(
            (
                "file",
                row(full_name=f"nguyen thi hong nhung {j}", company=f"CONG TY TNHH THUONG MAI DUC PHAT {j}"),
                (j, ["company_name"]),
            )
        )
    bad = [
        (row(full_name="Sai số 1", phone="12345"), "phone: not a Vietnamese phone number"),
        (row(full_name="Sai số 2", phone="0912"), "phone: not a Vietnamese phone number"),
        (row(full_name="Sai số 3", phone="+1 415 555 0100"), "phone: not a Vietnamese phone number"),
        (row(full_name="Sai số 4", phone="09123456789012"), "phone: not a Vietnamese phone number"),
        (row(full_name="", phone="0977 999 001"), "full_name: required"),
        (row(full_name="  ", company="Công ty Không Tên"), "full_name: required"),
        (row(full_name="", email="khongten@example.vn"), "full_name: required"),
        (row(full_name="Nguồn sai 1", source="radio"), "source: Input should be"),
        (row(full_name="Nguồn sai 2", source="facebook"), "source: Input should be"),
        (row(full_name="Nguồn sai 3", source=""), "source: required"),
        (row(full_name="Mail sai 1", email="nope"), "email: value is not a valid email address"),
        (row(full_name="Mail sai 2", email="a@"), "email: value is not a valid email address"),
        (row(full_name="Mail sai 3", email="x y@z.vn"), "email: value is not a valid email address"),
        (row(full_name="Vùng sai 1", region_code="Hà Nội"), "region_code: String should match pattern"),
        (
            row(full_name="Vùng sai 2", region_code="TOOLONGREGION1"),
            "region_code: String should match pattern",
        ),
        (row(full_name="Ngày sai 1", planned_contact_on="31/02/2026"), "planned_contact_on: not a date"),
        (row(full_name="Ngày sai 2", planned_contact_on="tomorrow"), "planned_contact_on: not a date"),
        (
            row(full_name="Chủ sai 1", owner="nobody_here"),
            "owner: no member of staff is called 'nobody_here'",
        ),
        (row(full_name="Chủ sai 2", owner="ghost.user"), "owner: no member of staff is called 'ghost.user'"),
        (row(full_name="Chiến dịch sai", campaign_id="camp-1"), "campaign_id: not a valid id (UUID)"),
    ]
    specials += [("bad", r, message) for r, message in bad]
    assert len(specials) == 50

    # Lay the file out: special rows spread among the good ones, from line 42 on.
    positions = {40 + 19 * k: k for k in range(50)}
    rows: list[dict[str, str]] = []
    expected = Expected()
    good_line: dict[int, int] = {}
    next_good = 0
    for position in range(1000):
        line = position + 2  # the header is line 1
        if position in positions:
            kind, data, about = specials[positions[position]]
            rows.append(data)
            if kind == "db":
                expected.duplicates[line] = {"duplicate_of": about[0], "matched_on": about[1], "row": None}
            elif kind == "file":
                expected.duplicates[line] = {"row": good_line[about[0]], "matched_on": about[1]}
            else:
                expected.rejected[line] = about
        else:
            data = good(next_good)
            rows.append(data)
            expected.good[line] = data
            good_line[next_good] = line
            next_good += 1
    assert next_good == 950

    before = await counts(leads)
    response = await upload(leads, importer, to_csv(rows))
    assert response.status_code == 200, response.text
    report = response.json()

    assert report["total_rows"] == 1000
    assert report["imported"] == 950
    assert len(report["imported_ids"]) == len(set(report["imported_ids"])) == 950

    id_of_line = dict(zip(sorted(expected.good), report["imported_ids"], strict=True))
    assert len(report["duplicates"]) == 30
    for duplicate in report["duplicates"]:
        want = expected.duplicates[duplicate["row"]]
        assert duplicate["matched_on"] == want["matched_on"], duplicate
        if want["row"] is None:
            assert duplicate["duplicate_of"] == want["duplicate_of"]
            assert duplicate["duplicate_of_row"] is None
        else:
            assert duplicate["duplicate_of_row"] == want["row"]
            assert duplicate["duplicate_of"] == id_of_line[want["row"]]
    assert {d["row"] for d in report["duplicates"]} == set(expected.duplicates)

    assert len(report["rejected"]) == 20
    for rejected in report["rejected"]:
        [error] = rejected["errors"]
        assert error.startswith(expected.rejected[rejected["row"]]), rejected
    assert {r["row"] for r in report["rejected"]} == set(expected.rejected)

    # Exactly the good rows are in the database, each audited and announced once.
    after = await counts(leads)
    assert after == (before[0] + 950, before[1] + 950, before[2] + 950)
    owners = await leads.rows(
        "SELECT owner_id, count(*) FROM leads WHERE id = ANY(:ids) GROUP BY owner_id",
        ids=[uuid.UUID(i) for i in report["imported_ids"]],
    )
    assert [(o, n) for o, n in owners] == [(importer.id, 950)]

    envelopes = [
        json.loads(bytes(r.body))
        for r in await leads.rows(
            "SELECT body FROM outbox WHERE routing_key = 'leads.lead.captured.v1' ORDER BY id DESC LIMIT 950"
        )
    ]
    assert {e["data"]["lead_id"] for e in envelopes} == set(report["imported_ids"])
    assert {e["actor"] for e in envelopes} == {str(importer.id)}
    assert len({e["correlation_id"] for e in envelopes}) == 1  # one import, one flow
    assert len({e["event_id"] for e in envelopes}) == 950

    # Vietnamese survives the trip, and the rows' data landed where it belongs.
    for line in (2, 9, 500, max(expected.good)):
        data = expected.good[line]
        lead = (await leads.http.get(f"/api/leads/{id_of_line[line]}", headers=importer.headers)).json()
        assert lead["full_name"] == data["full_name"]
        assert lead["company"] == (data["company"] or None)
        assert lead["phone"] == data["phone"]
        assert lead["region_code"] == (data["region_code"].upper() or None)
        assert lead["status"] == "new"
        assert lead["approach_plan"]["note"] == (data["note"] or None)
        entries = (await leads.http.get(f"/api/leads/{lead['id']}/history", headers=importer.headers)).json()
        assert [e["action"] for e in entries["items"]] == ["imported"]
    found = await leads.http.get("/api/leads?q=Hồng Nhung 949", headers=importer.headers)
    assert [lead["full_name"] for lead in found.json()["items"]] == ["Nguyễn Thị Hồng Nhung 949"]
    found = await leads.http.get(
        "/api/leads?q=cong ty tnhh thuong mai duc phat 300", headers=importer.headers
    )
    assert found.json()["total"] == 1

    # The same file again: everything good is now a duplicate of the database.
    again = (await upload(leads, importer, to_csv(rows))).json()
    assert again["imported"] == 0
    assert len(again["duplicates"]) == 980
    assert await counts(leads) == after


async def test_owners_named_in_the_file(leads: LeadsService) -> None:
    manager, seller = await leads.staff(Role.SALES_MANAGER), await leads.staff(Role.SALESPERSON)
    gone = await leads.staff(Role.SALESPERSON, active=False)
    accountant = await leads.staff(Role.ACCOUNTANT)

    def row(name: str, owner: str) -> dict[str, str]:
        return {c: "" for c in COLUMNS} | {"full_name": name, "source": "partner_referral", "owner": owner}

    report = (
        await upload(
            leads,
            manager,
            to_csv(
                [
                    row("Lý Thường Kiệt", seller.username.upper()),
                    row("Trần Hưng Đạo", ""),
                    row("Ngô Quyền", gone.username),
                    row("Lê Lợi", accountant.username),
                ]
            ),
        )
    ).json()
    assert report["imported"] == 2
    owners = [
        (await leads.http.get(f"/api/leads/{i}", headers=manager.headers)).json()["owner_id"]
        for i in report["imported_ids"]
    ]
    assert owners == [str(seller.id), str(manager.id)]
    assert [{"row": r["row"], "errors": r["errors"]} for r in report["rejected"]] == [
        {"row": 4, "errors": [f"owner: {gone.username!r} is no longer active"]},
        {"row": 5, "errors": [f"owner: {accountant.username!r} (accountant) cannot own leads"]},
    ]
    # Each problem carries its code and params, for a client to say it in its own words.
    assert [r["problems"] for r in report["rejected"]] == [
        [
            {
                "column": "owner",
                "code": "owner.inactive",
                "params": {"owner": gone.username},
                "message": f"{gone.username!r} is no longer active",
            }
        ],
        [
            {
                "column": "owner",
                "code": "owner.role_cannot_own",
                "params": {"username": accountant.username, "role": "accountant"},
                "message": f"{accountant.username!r} (accountant) cannot own leads",
            }
        ],
    ]

    # A salesperson imports for themselves only.
    report = (
        await upload(
            leads,
            seller,
            to_csv([row("Phan Bội Châu", manager.username), row("Phan Chu Trinh", seller.username)]),
        )
    ).json()
    assert report["imported"] == 1
    assert [{"row": r["row"], "errors": r["errors"]} for r in report["rejected"]] == [
        {"row": 2, "errors": ["owner: only a sales manager or an admin may give leads to someone else"]}
    ]
    assert report["rejected"][0]["problems"][0]["code"] == "lead.assign_to_other_forbidden"


async def test_a_file_that_cannot_be_read_imports_nothing(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    before = await counts(leads)

    response = await upload(leads, seller, b"full_name,source,phone_number\nA,press,0912345678\n")
    assert response.status_code == 422
    assert "unknown columns: phone_number" in response.json()["detail"]

    response = await upload(leads, seller, "full_name,source\nHòa,press\n".encode("latin-1"))
    assert response.status_code == 422
    assert "not UTF-8" in response.json()["detail"]

    too_many = "full_name,source\n" + "A,press\n" * 10_001
    response = await upload(leads, seller, too_many.encode())
    assert response.status_code == 422
    assert "more than 10000 rows" in response.json()["detail"]

    too_big = b"full_name,source,note\n" + b"A,press," + b"x" * (5 * 1024 * 1024) + b"\n"
    response = await upload(leads, seller, too_big)
    assert response.status_code == 413

    response = await leads.http.post("/api/leads/import", headers=seller.headers)
    assert response.status_code == 422
    assert await counts(leads) == before


def to_xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_xlsx_file_imports_like_a_csv_file(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    header = ["Full Name", "Company", "Phone", "Email", "Source", "Region Code", "Planned Contact On", "Note"]
    content = to_xlsx(
        [
            header,
            # Excel keeps a phone typed as a number without its 0, and a date as a date.
            ["Đặng Thị Mai", "Công ty Cơ khí Sông Hồng", 912888001, "Mai@SongHong.vn", "Trade_Fair", "hn",
             dt.datetime(2026, 12, 5), "Gọi lại sau Tết"],
            [],
            ["Vũ Văn Nam", None, "0912 888 002", None, "radio", None, None, None],
            ["Hồ Văn Lâm", None, "+84 912 888 001", None, "press", None, None, None],
            # Empty cells right of the header are no extra cells; a date may be typed as text.
            ["Lý Thị Thu", None, None, None, "walk_in", None, "05/12/2026", None, None, None, None, None],
        ]
    )  # fmt: skip
    response = await upload(leads, seller, content, name="khách hàng.xlsx")
    assert response.status_code == 200, response.text
    report = response.json()

    assert report["total_rows"] == 4
    assert report["imported"] == 2
    assert [{"row": r["row"], "errors": r["errors"]} for r in report["rejected"]] == [
        {
            "row": 4,
            "errors": [
                "source: Input should be 'internet', 'press', 'partner_referral', 'trade_fair', "
                "'walk_in', 'campaign' or 'other'"
            ],
        }
    ]
    assert [p["code"] for p in report["rejected"][0]["problems"]] == ["enum"]
    [duplicate] = report["duplicates"]
    assert (duplicate["row"], duplicate["matched_on"], duplicate["duplicate_of_row"]) == (5, ["phone"], 2)

    mai, thu = [
        (await leads.http.get(f"/api/leads/{i}", headers=seller.headers)).json()
        for i in report["imported_ids"]
    ]
    assert mai["full_name"] == "Đặng Thị Mai"
    assert mai["phone"] == "0912888001"
    assert mai["email"] == "mai@songhong.vn"
    assert mai["source"] == "trade_fair"
    assert mai["region_code"] == "HN"
    assert mai["approach_plan"] == {
        "planned_contact_on": "2026-12-05",
        "planned_channel": None,
        "note": "Gọi lại sau Tết",
    }
    assert mai["owner_id"] == str(seller.id)
    assert thu["approach_plan"]["planned_contact_on"] == "2026-12-05"


async def test_a_csv_file_may_use_semicolons(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    content = "full_name;company;source\nPhạm Văn Đồng;Công ty Hòa Bình, chi nhánh 2;press\n".encode()
    report = (await upload(leads, seller, content)).json()
    assert report["imported"] == 1, report
    [lead_id] = report["imported_ids"]
    lead = (await leads.http.get(f"/api/leads/{lead_id}", headers=seller.headers)).json()
    assert lead["company"] == "Công ty Hòa Bình, chi nhánh 2"
