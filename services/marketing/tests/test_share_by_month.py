"""Market share by month and quarter as well as year, and each channel's part of its
province's revenue (channel mix), over HTTP against real Postgres and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from crm_kit.auth import Role
from crm_testkit.infra import Infra
from crm_testkit.service import running_service
from marketing.app import create_app
from marketing.settings import Settings

from .known_groups import new_group
from .test_integration import Marketing, new_channel, new_volume, order, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def marketing(infra: Infra) -> AsyncIterator[Marketing]:
    async with running_service(
        infra, "marketing", create_app, Settings, kind=Marketing, retry_delay_s=0.5, relay_poll_interval_s=0.2
    ) as running:
        yield running


def by_channel(report: dict[str, Any], *channels: str | None) -> dict[str | None, dict[str, Any]]:
    return {r["channel_id"]: r for r in report["rows"] if r["channel_id"] in channels}


async def test_a_months_share_takes_its_quarters_volume_over_three_or_its_years_over_twelve(
    marketing: Marketing,
) -> None:
    m = marketing
    group = await new_group(m, "chillers")
    dist = await new_channel(m, unique("Nhà phân phối"), "distributor", ["01"])
    dealer = await new_channel(m, unique("Đại lý"), "dealer", ["01"], parent=dist)
    await new_volume(m, "01", group, "2041", 1_200_000)
    await new_volume(m, "01", group, "2041-Q1", 600_000)
    orders = [
        order((group, 20_000), channel_id=dist, region_code="01", on=date(2041, 3, 5)),
        order((group, 10_000), channel_id=dealer, region_code="01", on=date(2041, 3, 31)),
        order((group, 10_000), channel_id=None, region_code="01", on=date(2041, 3, 10)),
        order((group, 5_000), channel_id=dist, region_code="01", on=date(2041, 2, 28)),
        order((group, 7_000), channel_id=dist, region_code="01", on=date(2041, 5, 2)),
        order((group, 3_000), channel_id=dist, region_code="01", on=date(2041, 4, 1)),
        order(("another-group", 999), channel_id=dist, region_code="01", on=date(2041, 3, 6)),
    ]
    await m.handled(*[await m.publish(o) for o in orders])

    march = await m.get("/api/market-share", period="2041-03", product_group=group, region_code="01")
    assert (march["period"], march["previous_period"]) == ("2041-03", "2041-02")
    rows = by_channel(march, dist, dealer, None)
    assert {key: row["revenue"] for key, row in rows.items()} == {
        dist: 30_000,  # its own and its dealer's
        dealer: 10_000,
        None: 10_000,  # sold without a channel
    }
    for row in rows.values():
        assert row["market_volume"] == 200_000  # Q1's 600,000 / 3
        assert row["share"] == pytest.approx(row["revenue"] / 200_000)
        assert row["previous_market_volume"] == 200_000
    assert rows[dist]["previous_revenue"] == 5_000
    assert rows[dealer]["previous_revenue"] == 0
    assert rows[dist]["share_change"] == pytest.approx(30_000 / 200_000 - 5_000 / 200_000)

    may = by_channel(await m.get("/api/market-share", period="2041-05", product_group=group), dist)[dist]
    assert (may["revenue"], may["market_volume"]) == (7_000, 100_000)  # no Q2 estimate: 1,200,000 / 12
    assert (may["previous_revenue"], may["previous_market_volume"]) == (3_000, 100_000)  # April
    q2 = by_channel(await m.get("/api/market-share", period="2041-Q2", product_group=group), dist)[dist]
    assert (q2["revenue"], q2["market_volume"]) == (10_000, 300_000)  # the year's / 4
    assert q2["previous_market_volume"] == 600_000  # Q1 has its own
    year = by_channel(await m.get("/api/market-share", period="2041", product_group=group), dist)[dist]
    assert (year["revenue"], year["market_volume"]) == (45_000, 1_200_000)
    january = await m.get("/api/market-share", period="2041-01", product_group=group, region_code="01")
    assert january["previous_period"] == "2040-12"
    assert by_channel(january, dist)[dist]["revenue"] == 0


async def test_each_channel_has_its_part_of_the_provinces_revenue(marketing: Marketing) -> None:
    m = marketing
    group = unique("boilers")
    dist = await new_channel(m, unique("Nhà phân phối"), "distributor", ["48", "92"])
    dealer = await new_channel(m, unique("Đại lý"), "dealer", ["48"], parent=dist)
    shop = await new_channel(m, unique("Cửa hàng"), "retail", ["48"])
    await m.handled(
        *[
            await m.publish(o)
            for o in (
                order((group, 600), channel_id=dealer, region_code="48", on=date(2042, 7, 1)),
                order((group, 200), channel_id=dist, region_code="48", on=date(2042, 7, 2)),
                order((group, 150), channel_id=shop, region_code="48", on=date(2042, 7, 3)),
                order((group, 50), channel_id=None, region_code="48", on=date(2042, 7, 4)),
                order((group, 10_000), channel_id=dist, region_code="79", on=date(2042, 7, 5)),
            )
        ]
    )
    report = await m.get("/api/market-share", period="2042-07", product_group=group)
    da_nang = {r["channel_id"]: r for r in report["rows"] if r["region_code"] == "48"}
    assert {key: (row["revenue"], row["region_revenue"]) for key, row in da_nang.items()} == {
        dist: (800, 1_000),
        dealer: (600, 1_000),
        shop: (150, 1_000),
        None: (50, 1_000),
    }
    mix = {key: row["channel_mix"] for key, row in da_nang.items()}
    assert mix[dist] == pytest.approx(0.8)  # its dealer's part is its part too
    assert mix[dealer] == pytest.approx(0.6)
    assert mix[shop] == pytest.approx(0.15)
    assert mix[None] == pytest.approx(0.05)
    assert mix[dist] + mix[shop] + mix[None] == pytest.approx(1)  # the top of the tree adds up
    # 92 is covered and sold nothing: no part to speak of. A channel filter keeps the
    # province's whole revenue as the denominator.
    quiet = [r for r in report["rows"] if r["region_code"] == "92" and r["channel_id"] == dist]
    assert [(r["revenue"], r["region_revenue"], r["channel_mix"]) for r in quiet] == [(0, 0, None)]
    only = await m.get("/api/market-share", period="2042-Q3", product_group=group, channel_id=shop)
    assert [(r["region_code"], r["region_revenue"], r["channel_mix"]) for r in only["rows"]] == [
        ("48", 1_000, 0.15)
    ]


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/market-share", {"period": "2041-13"}),
        ("/api/market-share", {"period": "2041-3"}),
        ("/api/market-share", {"period": "2041-Q5"}),
        ("/api/market-share", {"period": "2041-03", "region_code": "Atlantis"}),
        # Market volumes are estimated per year or quarter: a month is not one of them.
        ("/api/market-volumes", {"period": "2041-03"}),
    ],
)
async def test_bad_periods_are_refused(marketing: Marketing, url: str, params: dict[str, str]) -> None:
    response = await marketing.http.get(url, headers=marketing.as_(Role.MARKETING), params=params)
    assert response.status_code == 422, response.text


async def test_no_market_volume_is_estimated_for_a_month(marketing: Marketing) -> None:
    m = marketing
    # A known group: the month is what is refused.
    group = await new_group(m, "fans")
    body = {"region_code": "01", "product_group": group, "period": "2041-03", "amount": 1}
    refused = await m.http.post("/api/market-volumes", headers=m.as_(Role.MARKETING), json=body)
    assert refused.status_code == 422
    assert await m.scalar("SELECT count(*) FROM market_volumes WHERE product_group = :g", g=group) == 0
    forbidden = await m.http.get(
        "/api/market-share", headers=m.as_(Role.SALESPERSON), params={"period": "2041-03"}
    )
    assert forbidden.status_code == 403
