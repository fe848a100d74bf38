"""Market volumes, targets, proposals and both imports name a product group of sales'
list, as marketing's copy of it holds it (`ProductGroupChanged`, newest wins): a typo
("generator" for "generators") or a retired group is refused with sales' codes and
writes nothing, a spelling of a group's code or name without diacritics is kept under
its code, and what is stored keeps its group when the group retires."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_contracts import ProductGroupChanged
from crm_kit.auth import Role

from .known_groups import known, new_group
from .test_integration import Marketing, new_volume

# The fixture, by name.
from .test_integration import marketing as marketing

pytestmark = pytest.mark.integration

VOLUME_HEADER = ["region_code", "product_group", "period", "amount", "source", "note"]
TARGET_HEADER = ["period", "region_code", "channel_id", "salesperson", "product_group", "amount"]


def csv_file(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue().encode()


async def upload(m: Marketing, url: str, data: bytes) -> dict[str, Any]:
    response = await m.http.post(
        url, headers=m.as_(Role.MARKETING), files={"file": ("file.csv", data, "text/csv")}
    )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def tag() -> str:
    return uuid.uuid4().hex[:6]


async def retire(m: Marketing, code: str) -> None:
    """Sales retires the group (a newer change than the one that made it)."""
    await known(m, code, active=False, at=datetime.now(UTC) + timedelta(seconds=1))


async def count(m: Marketing, table: str, group: str) -> int:
    return int(await m.scalar(f"SELECT count(*) FROM {table} WHERE product_group = :g", g=group))


def refusal(response: Any) -> tuple[str, list[Any], dict[str, Any]]:
    """(type, loc, ctx) of the one problem of a 422 at a field."""
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    return problem["type"], problem["loc"], problem["ctx"]


# -- one at a time ----------------------------------------------------------------------


async def test_a_group_not_on_the_list_is_refused_and_nothing_is_written(marketing: Marketing) -> None:
    m = marketing
    generators = await new_group(m, "generators")
    typo = generators.replace("generators", "generator")
    planner = m.as_(Role.MARKETING)
    volume = {"region_code": "79", "product_group": typo, "period": "2061", "amount": 1_000}
    refused = await m.http.post("/api/market-volumes", headers=planner, json=volume)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (refused.json()["code"], refused.json()["params"]) == ("product_group.unknown", {"group": typo})
    assert refusal(refused) == ("product_group.unknown", ["body", "product_group"], {"group": typo})
    target = {"period": "2061", "region_code": "79", "product_group": typo, "amount": 1_000}
    refused = await m.http.post("/api/targets", headers=planner, json=target)
    assert refusal(refused) == ("product_group.unknown", ["body", "product_group"], {"group": typo})
    assert (await count(m, "market_volumes", typo), await count(m, "sales_targets", typo)) == (0, 0)
    # The group as sales has it is taken.
    assert (await new_volume(m, "79", generators, "2061", 1_000))["product_group"] == generators


async def test_a_retired_group_takes_no_new_volume_or_target(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "heaters")
    await retire(m, group)
    planner = m.as_(Role.MARKETING)
    volume = {"region_code": "01", "product_group": group, "period": "2062", "amount": 5}
    refused = await m.http.post("/api/market-volumes", headers=planner, json=volume)
    assert refused.json()["code"] == "product_group.retired"
    assert refusal(refused) == ("product_group.retired", ["body", "product_group"], {"group": group})
    target = {"period": "2062", "region_code": "01", "product_group": group, "amount": 5}
    refused = await m.http.post("/api/targets", headers=planner, json=target)
    assert refusal(refused)[0] == "product_group.retired"
    assert (await count(m, "market_volumes", group), await count(m, "sales_targets", group)) == (0, 0)


async def test_a_group_named_without_its_diacritics_is_kept_under_its_code(marketing: Marketing) -> None:
    m = marketing
    code = f"MB-{tag()}"
    await known(m, code, name=f"Máy bơm {code}")
    # Its name without diacritics, its code in another case: the same group.
    volume = await new_volume(m, "79", f"may bom {code.lower()}", "2063", 7)
    assert volume["product_group"] == code
    target = await m.post(
        "/api/targets", {"period": "2063", "region_code": "79", "product_group": code.lower(), "amount": 7}
    )
    assert target["product_group"] == code
    again = await m.http.post(
        "/api/market-volumes",
        headers=m.as_(Role.MARKETING),
        json={"region_code": "79", "product_group": f"MÁY BƠM {code}", "period": "2063", "amount": 8},
    )
    assert again.status_code == 409 and again.json()["params"]["estimate"] == volume["id"]
    assert await count(m, "market_volumes", code) == 1


async def test_a_target_for_every_group_needs_none(marketing: Marketing) -> None:
    m = marketing
    body = {"period": "2064", "region_code": "92", "amount": 10}
    assert (await m.post("/api/targets", body))["product_group"] is None
    explicit = await m.post("/api/targets", {**body, "product_group": None, "region_code": "33"})
    assert explicit["product_group"] is None


async def test_what_a_retired_group_has_is_revised_as_before(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "boilers")
    volume = await new_volume(m, "48", group, "2065", 100)
    target = await m.post(
        "/api/targets", {"period": "2065", "region_code": "48", "product_group": group, "amount": 1}
    )
    await retire(m, group)

    revised = await m.http.put(
        f"/api/market-volumes/{volume['id']}", headers=m.as_(Role.MARKETING), json={"amount": 150}
    )
    assert revised.status_code == 200, revised.text
    assert (revised.json()["product_group"], revised.json()["revision"]) == (group, 2)
    patched = await m.http.patch(
        f"/api/targets/{target['id']}", headers=m.as_(Role.SALES_MANAGER), json={"amount": 2}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["product_group"], patched.json()["amount"]) == (group, 2)
    # Read as before, too.
    listed = await m.get("/api/market-volumes", product_group=group)
    assert [v["amount"] for v in listed["items"]] == [150]


# -- imports ----------------------------------------------------------------------------


async def test_a_volume_file_reports_each_row_of_a_group_not_on_the_list(marketing: Marketing) -> None:
    m = marketing
    name = f"Bơm nước {tag()}"
    pumps = await new_group(m, "pumps", name=name)
    gone = await new_group(m, "fans")
    await retire(m, gone)
    typo = f"{pumps}x"
    report = await upload(
        m,
        "/api/market-volumes/import",
        csv_file(
            VOLUME_HEADER,
            [
                ["79", pumps, "2066", "100", "survey", ""],  # 2
                ["01", typo, "2066", "200", "survey", ""],  # 3
                [
                    "48",
                    name.replace("ơ", "o").replace("ư", "u"),
                    "2066",
                    "300",
                    "survey",
                    "",
                ],  # 4: by its name
                ["92", typo, "2066-Q1", "400", "survey", ""],  # 5
                ["33", gone, "2066", "500", "survey", ""],  # 6
                ["79", pumps.upper(), "2066", "600", "survey", ""],  # 7: row 2, under its code
            ],
        ),
    )
    assert (report["imported"], report["updated"], report["unchanged"]) == (2, 0, 0), report
    problems = {r["row"]: r["errors"] for r in report["rejected"]}
    assert sorted(problems) == [3, 5, 6, 7]
    assert problems[3] == problems[5]
    assert problems[3][0].startswith(f"product_group: {typo!r} is not a product group")
    assert problems[6] == [
        f"product_group: product group {gone!r} is retired: it takes no new estimates or targets"
    ]
    assert problems[7] == ["row: repeats row 2 (same region, product group and period)"]
    stored = await m.rows(
        "SELECT region_code, product_group, amount FROM market_volumes WHERE period = '2066'"
    )
    assert sorted((r.region_code, r.product_group, r.amount) for r in stored) == [
        ("48", pumps, 300),
        ("79", pumps, 100),
    ]
    assert (await count(m, "market_volumes", typo), await count(m, "market_volumes", gone)) == (0, 0)


async def test_a_target_file_reports_each_row_of_a_group_not_on_the_list(marketing: Marketing) -> None:
    m = marketing
    valves = await new_group(m, "valves")
    gone = await new_group(m, "motors")
    await retire(m, gone)
    typo = f"{valves}s"
    report = await upload(
        m,
        "/api/targets/import",
        csv_file(
            TARGET_HEADER,
            [
                ["2067", "01", "", "", valves.upper(), "100"],  # 2: kept under its code
                ["2067", "79", "", "", typo, "200"],  # 3
                ["2067", "48", "", "", gone, "300"],  # 4
                ["2067", "92", str(uuid.uuid4()), "", typo, "400"],  # 5: and an unknown channel
                ["2067", "33", "", "", "", "500"],  # 6: every group
            ],
        ),
    )
    assert (report["imported"], report["updated"], report["unchanged"]) == (2, 0, 0), report
    problems = {r["row"]: r["errors"] for r in report["rejected"]}
    assert sorted(problems) == [3, 4, 5]
    assert problems[3] == [
        f"product_group: {typo!r} is not a product group; pick one of the list (GET /api/product-groups)"
    ]
    assert problems[4] == [
        f"product_group: product group {gone!r} is retired: it takes no new estimates or targets"
    ]
    assert [e.split(":")[0] for e in problems[5]] == ["channel_id", "product_group"]
    stored = await m.rows("SELECT region_code, product_group FROM sales_targets WHERE period = '2067'")
    assert sorted((r.region_code, r.product_group or "") for r in stored) == [("01", valves), ("33", "")]


# -- proposals --------------------------------------------------------------------------


async def test_a_proposal_names_a_group_on_the_list_or_none(marketing: Marketing) -> None:
    m = marketing
    chillers = await new_group(m, "chillers", name=f"Máy làm lạnh {tag()}")
    gone = await new_group(m, "coolers")
    await new_volume(m, "01", chillers, "2068", 1_000)
    await new_volume(m, "01", gone, "2068", 2_000)
    await retire(m, gone)
    planner = m.as_(Role.MARKETING)

    for group, code in ((f"{chillers}-typo", "product_group.unknown"), (gone, "product_group.retired")):
        body = {"period": "2068", "share": 0.5, "product_group": group, "accept": True}
        refused = await m.http.post("/api/targets/proposals", headers=planner, json=body)
        assert refusal(refused)[:2] == (code, ["body", "product_group"])
    assert await m.scalar("SELECT count(*) FROM sales_targets WHERE period = '2068'") == 0

    # By its code in another case: the proposal is for the group, under its code.
    one = await m.post(
        "/api/targets/proposals",
        {"period": "2068", "share": 0.5, "product_group": chillers.upper()},
        expect=200,
    )
    assert one["product_group"] == chillers
    assert [(r["region_code"], r["product_group"], r["amount"]) for r in one["rows"]] == [
        ("01", chillers, 500)
    ]

    # Every group: the retired one's market takes no target.
    every = await m.post(
        "/api/targets/proposals",
        {"period": "2068", "share": 0.5, "region_codes": ["01"], "accept": True},
        expect=200,
    )
    assert every["product_group"] is None
    assert [(r["product_group"], r["status"]) for r in every["rows"]] == [(chillers, "created")]
    stored = await m.rows("SELECT product_group FROM sales_targets WHERE period = '2068'")
    assert [r.product_group for r in stored] == [chillers]


# -- the copy of sales' list ------------------------------------------------------------


async def test_the_newest_change_of_a_group_wins_whatever_the_order_it_arrives_in(
    marketing: Marketing,
) -> None:
    m = marketing
    code = f"compressors-{tag()}"
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    later = ProductGroupChanged(
        code=code, name="Máy nén khí", active=False, changed_at=start + timedelta(hours=1)
    )
    earlier = ProductGroupChanged(code=code, name="Máy nén", active=True, changed_at=start)
    # Through the bus, as sales' relay sends them: the retirement first, then the older change.
    await m.handled(await m.publish(later))
    await m.handled(await m.publish(earlier))
    stored = await m.rows("SELECT name, active, changed_at FROM known_product_groups WHERE code = :c", c=code)
    assert [(r.name, r.active, r.changed_at) for r in stored] == [("Máy nén khí", False, later.changed_at)]
    body = {"region_code": "79", "product_group": code, "period": "2069", "amount": 1}
    refused = await m.http.post("/api/market-volumes", headers=m.as_(Role.MARKETING), json=body)
    assert refusal(refused)[0] == "product_group.retired"

    # Back on the list, newer still: taken, by its new name too.
    back = ProductGroupChanged(
        code=code, name="Máy nén khí", active=True, changed_at=start + timedelta(hours=2)
    )
    await m.handled(await m.publish(back))
    assert (await new_volume(m, "79", "may nen khi", "2069", 1))["product_group"] == code
