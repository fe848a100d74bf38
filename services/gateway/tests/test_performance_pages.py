"""The performance pages as a browser gets them: salesperson x channel x province with
care and attainment against the targets of each row's scope, and the grade migration.
Sales, marketing and customers are a stand-in whose answers each test scripts."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui import performance
from gateway.ui.i18n import money, percent, translate

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration

YEAR = str(date.today().year)
DEALER = str(uuid.uuid4())
SELLER = str(uuid.uuid4())


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    pages.upstream.answer(
        "GET",
        "/api/channels",
        page([{"id": DEALER, "name": "Đại lý Hà Đông", "parent_id": None, "active": True}]),
    )
    pages.upstream.answer("GET", "/api/products", page([]))
    return pages


def row(**values: Any) -> dict[str, Any]:
    counts = dict.fromkeys(
        ("leads_worked", "converted", "disqualified", "prospects_gained", "quotes_sent", "quotes_accepted"), 0
    )
    counts |= dict.fromkeys(
        ("quotes_declined", "quotes_expired", "quotes_rejected", "quotes_lost", "orders"), 0
    )
    return {
        "owner_id": None,
        "channel_id": None,
        "region_code": None,
        **counts,
        "conversion_rate": None,
        "win_rate": None,
        "revenue": 0,
        "previous_revenue": 0,
        "revenue_growth": None,
        "care_done": 0,
        "care_overdue": 0,
        **values,
    }


def report(rows: list[dict[str, Any]], total: int | None = None, period: str = YEAR) -> dict[str, Any]:
    return {
        "period": period,
        "starts_on": f"{YEAR}-01-01",
        "ends_before": f"{int(YEAR) + 1}-01-01",
        "previous_period": str(int(YEAR) - 1),
        "by": "salesperson,channel,region",
        "dimensions": ["salesperson", "channel", "region"],
        "care_due_before": f"{YEAR}-06-01",
        "currency": "VND",
        "items": rows,
        "total": len(rows) if total is None else total,
    }


def target(region: str, amount: int, actual: int, **scope: Any) -> dict[str, Any]:
    return {
        "region_code": region,
        "channel_id": None,
        "salesperson_id": None,
        "product_group": None,
        "target": amount,
        "actual": actual,
        "attainment": actual / amount if amount else None,
        **scope,
    }


async def test_salesperson_by_channel_by_province_with_care_and_attainment(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    seller = await stand_in.person(Role.SALESPERSON)
    sold = row(
        owner_id=seller.id,
        channel_id=DEALER,
        region_code="01",
        orders=2,
        revenue=1_000_000_000,
        quotes_accepted=2,
        quotes_lost=1,
        win_rate=2 / 3,
        care_done=4,
        care_overdue=3,
    )
    elsewhere = row(owner_id=seller.id, channel_id=DEALER, region_code="79", revenue=5_000_000)
    stand_in.upstream.answer("GET", "/api/performance", report([sold, elsewhere]))
    stand_in.upstream.answer(
        "GET",
        "/api/targets/attainment",
        {
            "period": YEAR,
            "rows": [
                target("01", 10_000_000_000, 1_000_000_000, channel_id=DEALER, salesperson_id=seller.id),
                # Not this row's scope: the channel's whole target, and one product group's.
                target("01", 50_000_000_000, 3_000_000_000, channel_id=DEALER),
                target("01", 1_000, 1_000, channel_id=DEALER, salesperson_id=seller.id, product_group="bơm"),
            ],
        },
    )

    answer = await manager.http.get(
        "/performance", params=[("period", YEAR), ("by", "salesperson"), ("by", "channel"), ("by", "region")]
    )

    assert answer.status_code == 200, answer.text
    html = Html(answer.text)
    rows = {r["data-region-code"]: r for r in html.all("tr", data_region_code="")}
    assert set(rows) == {"01", "79"}
    hanoi = rows["01"]
    assert hanoi["data-owner-id"] == seller.id and hanoi["data-channel-id"] == DEALER
    assert (
        "Ha Noi" in hanoi.text and "Đại lý Hà Đông" in hanoi.text and seller.user["full_name"] in hanoi.text
    )
    assert money("en", 1_000_000_000) in hanoi.text and money("en", 10_000_000_000) in hanoi.text
    assert percent("en", 0.1) in hanoi.text and percent("en", 2 / 3) in hanoi.text
    assert hanoi["data-bucket"] == "0"
    assert rows["79"].get("data-bucket") is None  # no target in Hồ Chí Minh: nothing to attain
    sent = stand_in.upstream.last("GET", "/api/performance").query
    assert sent == {"period": YEAR, "by": "salesperson,channel,region", "limit": "100", "offset": "0"}
    assert stand_in.upstream.last("GET", "/api/targets/attainment").query == {"period": YEAR}
    checked = {e["value"] for e in html.all("input", name="by", checked="")}
    assert checked == {"salesperson", "channel", "region"}
    assert html.all("a", href=f"/performance/grades?owner_id={seller.id}")


async def test_a_row_not_per_province_sums_its_targets_over_the_provinces(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/performance", report([row(owner_id=seller.id, revenue=300)]))
    stand_in.upstream.answer(
        "GET",
        "/api/targets/attainment",
        {
            "period": YEAR,
            "rows": [
                target("01", 600, 200, salesperson_id=seller.id),
                target("79", 400, 100, salesperson_id=seller.id),
                target(
                    "48", 999, 999, salesperson_id=seller.id, channel_id=DEALER
                ),  # a channel's, not theirs overall
            ],
        },
    )

    html = Html((await manager.get("/performance", period=YEAR)).text)

    [only] = html.all("tr", data_owner_id=seller.id)
    assert money("en", 1_000) in only.text and percent("en", 0.3) in only.text
    assert only["data-bucket"] == "1"
    assert stand_in.upstream.last("GET", "/api/performance").query["by"] == "salesperson"


async def test_a_range_of_days_has_no_targets_to_attain_and_says_so(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    stand_in.upstream.answer("GET", "/api/performance", report([row(revenue=10)], period="x..y"))

    html = Html((await manager.get("/performance", **{"from": f"{YEAR}-01-15", "to": f"{YEAR}-02-10"})).text)

    assert any(translate("en", "performance.no_plan_hint") in p.text for p in html.all("p"))
    assert stand_in.upstream.calls("GET", "/api/targets/attainment") == []
    sent = stand_in.upstream.last("GET", "/api/performance").query
    assert (sent["from"], sent["to"]) == (f"{YEAR}-01-15", f"{YEAR}-02-10") and "period" not in sent


async def test_a_salesperson_sees_their_own_whatever_the_address_says(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/performance", report([]))
    stand_in.upstream.answer("GET", "/api/targets/attainment", {"period": YEAR, "rows": []})

    html = Html((await seller.get("/performance", salesperson_id=SELLER)).text)

    assert stand_in.upstream.last("GET", "/api/performance").query["salesperson_id"] == seller.id
    assert stand_in.upstream.last("GET", "/api/targets/attainment").query["salesperson_id"] == seller.id
    assert not html.all("select", name="salesperson_id")  # nobody else to choose


async def test_a_period_the_report_refuses_is_shown_at_the_period(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    refusal = {
        "detail": [{"loc": ["query", "period"], "msg": "period must look like 2026", "type": "value_error"}]
    }
    stand_in.upstream.answer("GET", "/api/performance", refusal, status=422)

    answer = await manager.get("/performance", period="2027-13")

    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("period-error").text == translate("vi", "target.err.period")
    assert html.by_id("period")["value"] == "2027-13"


async def test_more_rows_than_a_page_have_a_next_page_with_the_same_filters(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    stand_in.upstream.answer("GET", "/api/performance", report([row(revenue=1)], total=250))

    html = Html((await manager.get("/performance", period=YEAR, by="channel,region", offset="100")).text)

    links = {a["href"] for a in html.all("a", href="") if a["href"].startswith("/performance?")}
    assert links == {
        f"/performance?period={YEAR}&by=channel%2Cregion&offset=0",
        f"/performance?period={YEAR}&by=channel%2Cregion&offset=200",
    }


# -- grade migration --------------------------------------------------------------------------


def test_a_move_is_up_or_down_within_its_scheme() -> None:
    assert performance.direction("C", "A") == "up"
    assert performance.direction("A", "B") == "down"
    assert performance.direction("Tier III", "VIP") == "up"
    assert performance.direction("B", "B") == "same"
    assert performance.direction(None, "D") == "new"
    assert performance.direction("A", "Tier I") == "other"
    assert performance.direction("Gold", "Silver") == "other"


async def test_grade_migration_counts_each_salespersons_moves_and_shows_one_grid(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    seller = await stand_in.person(Role.SALESPERSON)
    other = await stand_in.person(Role.SALESPERSON)
    moves = [
        {"owner_id": seller.id, "from_grade": "A", "to_grade": "B", "customers": 2},
        {"owner_id": seller.id, "from_grade": "C", "to_grade": "A", "customers": 5},
        {"owner_id": seller.id, "from_grade": "C", "to_grade": "C", "customers": 7},
        {"owner_id": seller.id, "from_grade": None, "to_grade": "D", "customers": 1},
        {"owner_id": other.id, "from_grade": "B", "to_grade": "B", "customers": 1},
    ]
    answer = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-06-30", "owner_id": seller.id, "rows": moves}
    stand_in.upstream.answer("GET", "/api/customers/grade-migration", answer)

    html = Html(
        (
            await manager.get(
                "/performance/grades",
                **{"from": f"{YEAR}-01-01", "to": f"{YEAR}-06-30", "owner_id": seller.id},
            )
        ).text
    )

    [mine] = html.all("tr", data_owner_id=seller.id)
    counts = {c["data-count"]: c.text for c in html.all("td", data_count="") if c in _cells(html, mine)}
    assert counts == {"up": "5", "same": "7", "down": "2", "new": "1", "other": "0"}
    assert seller.user["full_name"] in mine.text
    grid = {(c["data-from"], c["data-to"]): c.text for c in html.all("td", data_from="")}
    assert grid[("C", "A")] == "5" and grid[("A", "B")] == "2" and grid[("", "D")] == "1"
    assert grid[("A", "A")] == "·"
    sent = stand_in.upstream.last("GET", "/api/customers/grade-migration").query
    assert sent == {"from": f"{YEAR}-01-01", "to": f"{YEAR}-06-30", "owner_id": seller.id}


def _cells(html: Html, tr: Any) -> list[Any]:
    """The elements that follow `tr` up to the next row."""
    start = html.elements.index(tr)
    following = html.elements[start + 1 :]
    end = next((i for i, e in enumerate(following) if e.tag == "tr"), len(following))
    return following[:end]


async def test_grade_migration_defaults_to_this_year_and_a_bad_day_is_refused_at_its_field(
    stand_in: Pages,
) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer(
        "GET",
        "/api/customers/grade-migration",
        {"detail": [{"loc": ["query", "to"], "msg": "is before from", "type": "value_error"}]},
        status=422,
    )

    answer = await seller.get("/performance/grades", owner_id=SELLER)

    assert answer.status_code == 422
    html = Html(answer.text)
    assert html.by_id("to-error").text == translate("vi", "performance.err.days")
    sent = stand_in.upstream.last("GET", "/api/customers/grade-migration").query
    assert sent["owner_id"] == seller.id  # their own, whatever the address says
    assert sent["from"] == f"{int(YEAR) - 1}-12-31" and sent["to"] == date.today().isoformat()
