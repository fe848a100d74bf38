"""Sales targets imported from files and proposed from the market, over HTTP against
real Postgres and RabbitMQ."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openpyxl import Workbook

from crm_kit.auth import Role
from crm_testkit.infra import Infra
from crm_testkit.service import running_service
from marketing import target_import
from marketing.app import create_app
from marketing.settings import Settings

from .known_groups import new_group
from .test_integration import Marketing, new_channel, new_volume, unique

pytestmark = pytest.mark.integration

HEADER = ["period", "region_code", "channel_id", "salesperson", "product_group", "amount"]


@pytest.fixture(scope="module")
async def marketing(infra: Infra) -> AsyncIterator[Marketing]:
    async with running_service(
        infra, "marketing", create_app, Settings, kind=Marketing, retry_delay_s=0.5, relay_poll_interval_s=0.2
    ) as running:
        yield running


def csv_file(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    return ("\ufeff" + buffer.getvalue()).encode()


def xlsx_file(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(m: Marketing, data: bytes, name: str = "targets.csv", role: Role = Role.MARKETING) -> Any:
    return await m.http.post(
        "/api/targets/import", headers=m.as_(role), files={"file": (name, data, "application/octet-stream")}
    )


async def targets_of(m: Marketing, group: str) -> dict[tuple[str, str, str | None, str | None], int]:
    """(period, region, channel, salesperson) -> amount of the group's targets."""
    page = await m.get("/api/targets", product_group=group, limit=100)
    return {
        (t["period"], t["region_code"], t["channel_id"], t["salesperson_id"]): t["amount"]
        for t in page["items"]
    }


# -- import -----------------------------------------------------------------------------


async def test_a_target_file_creates_and_revises_row_by_row_and_reports_every_bad_row(
    marketing: Marketing,
) -> None:
    m = marketing
    group = await new_group(m, "pumps")
    seller = await m.staff(Role.SALESPERSON)
    manager = await m.staff(Role.SALES_MANAGER)
    gone = await m.staff(Role.SALESPERSON)
    await m.deactivate(gone)
    accountant = await m.staff(Role.ACCOUNTANT)
    dealer_name = unique("Đại lý Hà Đông")
    dealer = await new_channel(m, dealer_name, "dealer", ["01"])
    revised = await m.post(
        "/api/targets", {"period": "2051", "region_code": "01", "product_group": group, "amount": 100}
    )
    same = await m.post(
        "/api/targets", {"period": "2051-Q1", "region_code": "79", "product_group": group, "amount": 50}
    )

    report = (
        await upload(
            m,
            csv_file(
                [
                    ["2051", "Hà Nội", "", "", group, "150"],  # 2: revises the yearly target
                    ["2051-q1", "79", "", "", group, "50"],  # 3: the amount it has
                    ["2051-03", "01", dealer_name.upper(), seller.username.upper(), group, "1.500.000"],  # 4
                    ["2051-03", "Bình Dương", dealer, str(manager.id), group, "2000"],  # 5: former name -> 79
                    ["2051-13", "Atlantis", "", "", group, "-1"],  # 6
                    ["2051", "01", str(uuid.uuid4()), "nobody.here", group, "1"],  # 7
                    ["2051", "01", "", gone.username, group, "1"],  # 8
                    ["2051", "01", "", str(accountant.id), group, "1"],  # 9
                    ["2051-03", "01", dealer, seller.username, group, "7"],  # 10: the same as row 4
                    ["2051-Q2", "01", "", "", "", ""],  # 11
                ]
            ),
        )
    ).json()
    assert (report["imported"], report["updated"], report["unchanged"]) == (2, 1, 1), report
    problems = {r["row"]: r["errors"] for r in report["rejected"]}
    assert sorted(problems) == [6, 7, 8, 9, 10, 11]
    assert [e.split(":")[0] for e in problems[6]] == ["period", "region_code", "amount"]
    assert [e.split(":")[0] for e in problems[7]] == ["channel_id", "salesperson"]
    assert "nobody.here" in problems[7][1]
    assert problems[8] == [f"salesperson: {gone.username} is deactivated"]
    assert problems[9] == [f"salesperson: {accountant.username} is accountant, not in sales"]
    assert problems[10] == ["row: repeats row 4 (same period and scope)"]
    assert problems[11] == ["amount: missing"]
    # The same problems with their codes and params, which the web UI says in its words.
    codes = {r["row"]: [(p["column"], p["code"]) for p in r["problems"]] for r in report["rejected"]}
    assert codes[7] == [
        ("channel_id", "target.channel_unknown"),
        ("salesperson", "target.salesperson_unknown"),
    ]
    assert codes[8] == [("salesperson", "target.salesperson_deactivated")]
    assert codes[9] == [("salesperson", "target.salesperson_not_selling")]
    assert codes[10] == [("row", "import.row_repeats")]
    assert report["rejected"][4]["problems"][0]["params"] == {"row": 4}
    assert codes[11] == [("amount", "missing")]

    assert await targets_of(m, group) == {
        ("2051", "01", None, None): 150,
        ("2051-Q1", "79", None, None): 50,
        ("2051-03", "01", dealer, str(seller.id)): 1_500_000,
        ("2051-03", "79", dealer, str(manager.id)): 2_000,
    }
    history = await m.get(f"/api/targets/{revised['id']}")
    assert [(r["previous_amount"], r["amount"]) for r in history["revisions"]] == [(None, 100), (100, 150)]
    assert (await m.get(f"/api/targets/{same['id']}"))["revision"] == 1

    # The salesperson reads the target the file gave them, as any target.
    own = await m.http.get("/api/targets", headers=seller.headers, params={"product_group": group})
    assert [t["amount"] for t in own.json()["items"]] == [1_500_000]


async def test_a_target_workbook_is_read_like_a_csv_file(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "valves")
    # Excel keeps 1 for a province code typed as a number, and amounts as numbers.
    response = await upload(
        m,
        xlsx_file([["2052-Q4", 1, None, None, group, 3_000_000], ["2052", "Atlantis", None, None, group, 1]]),
        name="chỉ tiêu.xlsx",
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], [r["row"] for r in report["rejected"]]) == (1, [3])
    assert await targets_of(m, group) == {("2052-Q4", "01", None, None): 3_000_000}


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"period,region_code\n2053,01\n", 422, "lacks the column(s) amount"),
        (b"period,region_code,amount,owner\n2053,01,1,me\n", 422, "unknown column(s) owner"),
        (b"\xff\xfe\x00period", 422, "not UTF-8"),
        (b"", 422, "empty"),
        (b"period,region_code,amount\n" + b"2053,01,1\n" * 250_000, 413, "larger than 2 MB"),
    ],
)
async def test_an_unreadable_target_file_is_refused_whole(
    marketing: Marketing, data: bytes, status: int, words: str
) -> None:
    m = marketing
    before = await m.scalar("SELECT count(*) FROM sales_targets")
    refused = await upload(m, data)
    assert refused.status_code == status, refused.text
    assert words in refused.json()["detail"]
    assert await m.scalar("SELECT count(*) FROM sales_targets") == before


async def test_only_planners_import_targets(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "motors")
    data = csv_file([["2054", "01", "", "", group, "1"]])
    for role in (Role.SALESPERSON, Role.ACCOUNTANT):
        assert (await upload(m, data, role=role)).status_code == 403
    assert await m.scalar("SELECT count(*) FROM sales_targets WHERE product_group = :g", g=group) == 0
    assert (await upload(m, data, role=Role.SALES_MANAGER)).json()["imported"] == 1
    assert (await upload(m, data, role=Role.ADMIN)).json()["unchanged"] == 1
    assert target_import.MAX_IMPORT_BYTES == 2 * 1024 * 1024  # what the route's description says


# -- proposals --------------------------------------------------------------------------


async def propose(m: Marketing, body: dict[str, Any], expect: int = 200) -> Any:
    return await m.post("/api/targets/proposals", body, expect=expect)


async def test_targets_are_proposed_from_the_market_and_written_only_when_accepted(
    marketing: Marketing,
) -> None:
    m = marketing
    group, other = await new_group(m, "chillers"), await new_group(m, "fans")
    await new_volume(m, "01", group, "2055", 12_000_000)
    await new_volume(m, "79", group, "2055-Q1", 3_000_000)
    await new_volume(m, "79", group, "2055", 99)  # Q1 has its own: the year is not read
    await new_volume(m, "48", other, "2055", 1_000)

    shown = await propose(m, {"period": "2055-02", "share": 0.15, "product_group": group})
    rows = {r["region_code"]: r for r in shown["rows"]}
    assert set(rows) == {"01", "79"}
    assert rows["01"] | {"status": None} == {
        "region_code": "01",
        "region_name": "Hà Nội",
        "product_group": group,
        "market_volume": 1_000_000,  # the year's / 12
        "volume_from": ["2055"],
        "amount": 150_000,
        "status": None,
        "target_id": None,
    }
    assert (rows["79"]["market_volume"], rows["79"]["volume_from"]) == (1_000_000, ["2055-Q1"])  # / 3
    assert {r["status"] for r in shown["rows"]} == {"proposed"}
    assert (shown["accepted"], shown["created"], shown["skipped"], shown["share"]) == (False, 0, 0, 0.15)
    assert await m.scalar("SELECT count(*) FROM sales_targets WHERE product_group = :g", g=group) == 0

    # Hà Nội has a target for February already: accepting leaves it and says so.
    kept = await m.post(
        "/api/targets", {"period": "2055-02", "region_code": "01", "product_group": group, "amount": 999}
    )
    accepted = await propose(
        m, {"period": "2055-02", "share": "0.15", "product_group": group, "accept": True}
    )
    rows = {r["region_code"]: r for r in accepted["rows"]}
    assert (rows["01"]["status"], rows["01"]["target_id"]) == ("exists", kept["id"])
    assert rows["79"]["status"] == "created"
    assert (accepted["created"], accepted["skipped"]) == (1, 1)
    assert await targets_of(m, group) == {
        ("2055-02", "01", None, None): 999,
        ("2055-02", "79", None, None): 150_000,
    }
    written = await m.get(f"/api/targets/{rows['79']['target_id']}")
    assert (written["amount"], written["revision"], written["entered_by"]) == (
        150_000,
        1,
        str(m.user(Role.MARKETING).id),
    )
    again = await propose(m, {"period": "2055-02", "share": 0.15, "product_group": group, "accept": True})
    assert (again["created"], again["skipped"]) == (0, 2)


async def test_a_proposal_per_channel_per_province_asked_for_and_per_product_group(
    marketing: Marketing,
) -> None:
    m = marketing
    group, other = await new_group(m, "boilers"), await new_group(m, "heaters")
    await new_volume(m, "92", group, "2056", 4_000)
    for quarter, amount in (("Q1", 100), ("Q2", 200), ("Q3", 300), ("Q4", 400)):
        await new_volume(m, "92", other, f"2056-{quarter}", amount)
    await new_volume(m, "33", group, "2056", 0)
    dealer = await new_channel(m, unique("Đại lý Cần Thơ"), "dealer", ["92"])
    await m.post(
        "/api/targets", {"period": "2056-Q3", "region_code": "92", "product_group": group, "amount": 1}
    )

    body = {
        "period": "2056-Q3",
        "share": 0.5,
        "region_codes": ["Cần Thơ", "33", "Đà Nẵng"],
        "channel_id": dealer,
    }
    answer = await propose(m, {**body, "accept": True})
    rows = {
        (r["region_code"], r["product_group"]): r
        for r in answer["rows"]
        if r["product_group"] in (group, other, None)
    }
    assert {key: (r["market_volume"], r["amount"], r["status"]) for key, r in rows.items()} == {
        ("92", group): (1_000, 500, "created"),  # the province's own target is another scope
        ("92", other): (300, 150, "created"),
        ("33", group): (0, None, "no_market_volume"),
        ("48", None): (None, None, "no_market_volume"),
    }
    assert answer["channel_id"] == dealer
    stored = await m.rows(
        "SELECT region_code, product_group, channel_id, amount FROM sales_targets WHERE period = '2056-Q3'"
        " AND channel_id IS NOT NULL ORDER BY product_group"
    )
    assert sorted((r.product_group, str(r.channel_id), r.amount) for r in stored) == sorted(
        [(group, dealer, 500), (other, dealer, 150)]
    )
    year = await propose(m, {"period": "2056", "share": 1, "region_codes": ["92"], "product_group": other})
    assert [(r["market_volume"], r["volume_from"], r["amount"]) for r in year["rows"]] == [
        (1_000, ["2056-Q1", "2056-Q2", "2056-Q3", "2056-Q4"], 1_000)
    ]


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"share": 0}, ["body", "share"]),
        ({"share": 1.5}, ["body", "share"]),
        ({"share": -0.1}, ["body", "share"]),
        ({"share": None}, ["body", "share"]),
        ({"period": "2057-13"}, ["body", "period"]),
        ({"region_codes": ["79", "Atlantis"]}, ["body", "region_codes", 1]),
        ({"channel_id": "00000000-0000-0000-0000-000000000000"}, ["body", "channel_id"]),
        ({"salesperson_id": str(uuid.uuid4())}, ["body", "salesperson_id"]),
    ],
)
async def test_a_bad_proposal_is_refused_naming_the_field_and_writes_nothing(
    marketing: Marketing, change: dict[str, Any], location: list[Any]
) -> None:
    m = marketing
    group = await new_group(m, "bad")
    await new_volume(m, "79", group, "2057", 1_000)
    body = {"period": "2057", "share": 0.1, "product_group": group, "accept": True, **change}
    refused = await m.http.post("/api/targets/proposals", headers=m.as_(Role.MARKETING), json=body)
    assert refused.status_code == 422, refused.text
    assert location in [problem["loc"] for problem in refused.json()["detail"]]
    assert await m.scalar("SELECT count(*) FROM sales_targets WHERE product_group = :g", g=group) == 0


async def test_only_planners_propose_targets(marketing: Marketing) -> None:
    m = marketing
    for role in (Role.SALESPERSON, Role.ACCOUNTANT):
        refused = await m.http.post(
            "/api/targets/proposals", headers=m.as_(role), json={"period": "2058", "share": 0.1}
        )
        assert refused.status_code == 403
    assert (await propose(m, {"period": "2058", "share": 0.1}))["rows"] == []
