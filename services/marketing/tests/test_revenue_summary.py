"""Target attainment and market share read `revenue_months`, a monthly summary of the
revenue facts kept by triggers (migration 0017). Whatever writes the facts (orders, credit
notes, cancellations, merges, a province re-mapped, a fact given to another salesperson, a
fact deleted or truncated), the summary is the facts' aggregate and both reports say what
an aggregate of the facts themselves says, over HTTP against real Postgres and RabbitMQ."""

from __future__ import annotations

import importlib.util
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from crm_contracts import CustomersMerged, OrderPlaced
from crm_kit.auth import Role
from crm_testkit.infra import Infra
from crm_testkit.service import Staff, running_service
from marketing.app import create_app
from marketing.domain import Period
from marketing.settings import Settings

from .known_groups import new_group
from .test_credit_notes import credit
from .test_integration import Marketing, new_channel, order, unique
from .test_order_cancellations import cancelled

pytestmark = pytest.mark.integration

MIGRATION = Path(__file__).resolve().parents[1] / "migrations" / "versions" / "0017_revenue_summary.py"

#: The facts' own aggregate, in the summary's shape.
FACTS_BY_MONTH = """
    SELECT date_trunc('month', order_date::timestamp)::date AS month, region_code, channel_id,
           owner_id, product_group, count(*)::bigint AS lines, sum(net_amount)::bigint AS net_amount
    FROM revenue_facts GROUP BY 1, 2, 3, 4, 5"""
KEPT = "SELECT month, region_code, channel_id, owner_id, product_group, lines, net_amount FROM revenue_months"


@pytest.fixture(scope="module")
async def marketing(infra: Infra) -> AsyncIterator[Marketing]:
    async with running_service(
        infra, "marketing", create_app, Settings, kind=Marketing, retry_delay_s=0.3, relay_poll_interval_s=0.2
    ) as running:
        yield running


async def drift(m: Marketing) -> list[Any]:
    """Rows of the summary that are not the facts' aggregate, and the other way round."""
    return await m.rows(
        f"(SELECT 'missing' AS what, * FROM ({FACTS_BY_MONTH} EXCEPT ALL {KEPT}) AS a)"
        f" UNION ALL (SELECT 'extra' AS what, * FROM ({KEPT} EXCEPT ALL {FACTS_BY_MONTH}) AS b)"
    )


async def assert_exact(m: Marketing) -> None:
    assert await drift(m) == []
    assert await m.scalar("SELECT count(*) FROM revenue_months WHERE lines <= 0") == 0


def ids(value: object) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


# -- what the facts say, aggregated directly ---------------------------------------------


async def facts_actual(m: Marketing, period: Period, row: dict[str, Any]) -> int:
    """The revenue facts of a target's scope (a channel without children), summed."""
    sql = (
        "SELECT coalesce(sum(net_amount), 0) FROM revenue_facts"
        " WHERE order_date >= :start AND order_date < :end AND region_code = :region"
    )
    params: dict[str, Any] = {"start": period.start, "end": period.end, "region": row["region_code"]}
    for column, key in (("channel_id", "channel_id"), ("owner_id", "salesperson_id")):
        if row[key] is not None:
            sql += f" AND {column} = :{column}"
            params[column] = ids(row[key])
    if row["product_group"] is not None:
        sql += " AND product_group = :group"
        params["group"] = row["product_group"]
    return int(await m.scalar(sql, **params))


async def facts_share(
    m: Marketing, period: Period, group: str | None
) -> dict[tuple[str, uuid.UUID | None], int]:
    """Revenue per province x channel of the facts dated in `period` (channels without children)."""
    sql = (
        "SELECT region_code, channel_id, sum(net_amount) AS net FROM revenue_facts"
        " WHERE order_date >= :start AND order_date < :end AND region_code IS NOT NULL"
    )
    params: dict[str, Any] = {"start": period.start, "end": period.end}
    if group is not None:
        sql += " AND product_group = :group"
        params["group"] = group
    rows = await m.rows(sql + " GROUP BY 1, 2", **params)
    return {(row.region_code, row.channel_id): int(row.net) for row in rows}


async def check_attainment(m: Marketing, period: str, group: str, seller: Staff, scopes: int) -> None:
    """The manager's report and the seller's own: each actual is the facts' sum."""
    parsed = Period.parse(period, months=True)
    report = await m.get("/api/targets/attainment", period=period, product_group=group)
    assert len(report["rows"]) == scopes
    for row in report["rows"]:
        assert row["actual"] == await facts_actual(m, parsed, row), (period, row)
    own = await m.http.get(
        "/api/targets/attainment", headers=seller.headers, params={"period": period, "product_group": group}
    )
    assert own.status_code == 200, own.text
    assert own.json()["rows"], period
    for row in own.json()["rows"]:
        assert row["salesperson_id"] == str(seller.id)
        assert row["actual"] == await facts_actual(m, parsed, row), (period, row)


async def check_share(m: Marketing, period: str, group: str | None) -> None:
    """Each row's revenue, the revenue of its province and of the period before are the
    facts' sums, and every province x channel the facts name (even at 0) has a row."""
    parsed = Period.parse(period, months=True)
    now, before = await facts_share(m, parsed, group), await facts_share(m, parsed.previous(), group)
    params = {"period": period} if group is None else {"period": period, "product_group": group}
    report = await m.get("/api/market-share", **params)
    regions: dict[str, int] = defaultdict(int)
    for (region, _), amount in now.items():
        regions[region] += amount
    keys = set()
    for row in report["rows"]:
        key = (row["region_code"], ids(row["channel_id"]))
        keys.add(key)
        assert row["revenue"] == now.get(key, 0), (period, row)
        assert row["previous_revenue"] == before.get(key, 0), (period, row)
        assert row["region_revenue"] == regions.get(row["region_code"], 0), (period, row)
    assert set(now) | set(before) <= keys, period


async def check_reports(m: Marketing, group: str, seller: Staff, scopes: dict[str, int]) -> None:
    await assert_exact(m)
    for period, count in scopes.items():
        await check_attainment(m, period, group, seller, count)
    for period in ("2044", "2044-Q1", "2044-Q2", "2044-01", "2044-02", "2044-03", "2044-04", "2045"):
        await check_share(m, period, group)
    await check_share(m, "2044", None)


# -- the tests ---------------------------------------------------------------------------


async def test_the_reports_say_what_the_facts_say_whatever_writes_them(marketing: Marketing) -> None:
    m = marketing
    group = await new_group(m, "chillers")
    alice, bob = await m.staff(Role.SALESPERSON), await m.staff(Role.SALESPERSON)
    x = await new_channel(m, unique("Nhà phân phối"), "distributor", ["01", "79"])
    y = await new_channel(m, unique("Đại lý"), "dealer", ["79"])
    targets: list[dict[str, Any]] = [
        {"period": "2044", "region_code": "01"},
        {"period": "2044", "region_code": "01", "salesperson_id": str(alice.id)},
        {"period": "2044", "region_code": "01", "salesperson_id": str(bob.id)},
        {"period": "2044", "region_code": "79"},
        {"period": "2044", "region_code": "79", "salesperson_id": str(alice.id)},
        {"period": "2044", "region_code": "01", "channel_id": x},
        {"period": "2044", "region_code": "79", "channel_id": y},
        {"period": "2044-02", "region_code": "01", "salesperson_id": str(alice.id)},
        {"period": "2044-02", "region_code": "79"},
        {"period": "2044-02", "region_code": "79", "salesperson_id": str(bob.id)},
    ]
    for target in targets:
        await m.post("/api/targets", {**target, "product_group": group, "amount": 10_000_000})
    # Periods and how many of the targets each has (a year's includes its months' when rolled up).
    scopes = {"2044": 8, "2044-02": 3, "2044-Q1": 3}

    def sold(seller: Staff, amount: int, on: date, region: str | None, channel: str | None) -> OrderPlaced:
        placed = order((group, amount), ("other-group", 7), channel_id=channel, region_code=region, on=on)
        return placed.model_copy(update={"owner_id": seller.id})

    jan_31 = sold(alice, 1_000_000, date(2044, 1, 31), "01", x)
    feb_1 = sold(alice, 500_000, date(2044, 2, 1), "01", None)
    mar_31 = sold(bob, 300_000, date(2044, 3, 31), "01", x)
    apr_1 = sold(bob, 200_000, date(2044, 4, 1), "79", y)
    former = sold(alice, 40_000, date(2044, 2, 29), "74", y)  # Bình Dương, part of 79 now
    unknown = sold(alice, 9_000, date(2044, 2, 3), "28", None)  # no province it maps to
    dec_31 = sold(alice, 50_000, date(2043, 12, 31), "01", x)
    next_year = sold(alice, 70_000, date(2045, 1, 1), "01", x)
    orders = [jan_31, feb_1, mar_31, apr_1, former, unknown, dec_31, next_year]
    await m.handled(*[await m.publish(o) for o in orders])
    assert await m.scalar("SELECT count(*) FROM revenue_months WHERE product_group = :g", g=group) == 8
    await check_reports(m, group, alice, scopes)

    # A credit note dated in the next month; a cancellation (its lines kept at zero, its
    # province and channel still reported); one cancelled before its order arrived.
    await m.handled(await m.publish(credit(jan_31, 100_000, on=date(2044, 2, 1))))
    await m.handled(await m.publish(cancelled(mar_31)))
    early = sold(bob, 80_000, date(2044, 1, 15), "79", None)
    await m.handled(await m.publish(cancelled(early)))
    await m.handled(await m.publish(early))
    assert (
        await m.scalar(
            "SELECT net_amount FROM revenue_months WHERE owner_id = :b AND month = '2044-03-01'"
            " AND product_group = :g",
            b=bob.id,
            g=group,
        )
        == 0
    )
    await check_reports(m, group, alice, scopes)

    # A merge moves facts to the survivor: same keys, no change to the summary.
    before = await m.rows(KEPT + " ORDER BY id")
    survivor = uuid.uuid4()
    merge = CustomersMerged(
        customer_id=survivor, merged_customer_id=feb_1.customer_id, merged_at=datetime.now(UTC)
    )
    await m.handled(await m.publish(merge))
    assert await m.scalar("SELECT count(*) FROM revenue_facts WHERE customer_id = :c", c=survivor) == 2
    assert await m.rows(KEPT + " ORDER BY id") == before
    await check_reports(m, group, alice, scopes)

    # A province re-mapped, a fact given to another salesperson, one moved across a month
    # boundary, two salespeople's facts swapped in one statement, and a fact deleted.
    await m.execute("UPDATE revenue_facts SET region_code = '79' WHERE order_id = :o", o=jan_31.order_id)
    await check_reports(m, group, alice, scopes)
    await m.execute("UPDATE revenue_facts SET owner_id = :b WHERE order_id = :o", b=bob.id, o=feb_1.order_id)
    await check_reports(m, group, alice, scopes)
    await m.execute(
        "UPDATE revenue_facts SET order_date = '2044-02-01' WHERE order_id = :o", o=dec_31.order_id
    )
    await check_reports(m, group, alice, scopes)
    await m.execute(
        "UPDATE revenue_facts SET owner_id = CASE WHEN owner_id = :a THEN :b ELSE :a END"
        " WHERE product_group = :g AND owner_id IN (:a, :b)",
        a=alice.id,
        b=bob.id,
        g=group,
    )
    await check_reports(m, group, bob, scopes)
    await m.execute("DELETE FROM revenue_facts WHERE order_id = :o", o=apr_1.order_id)
    gone = await m.scalar(
        "SELECT count(*) FROM revenue_months WHERE month = '2044-04-01' AND product_group = :g", g=group
    )
    assert gone == 0  # its key has no fact left: no row, not a row of zero
    await check_reports(m, group, bob, scopes)


async def test_the_migrations_fill_is_what_the_triggers_keep_and_a_truncate_empties_it(
    marketing: Marketing,
) -> None:
    m = marketing
    group = unique("pumps")
    placed = [
        order((group, amount), channel_id=None, region_code=region, on=on)
        for amount, region, on in (
            (100, "01", date(2046, 1, 31)),
            (200, "01", date(2046, 2, 1)),
            (300, None, date(2046, 2, 1)),
            (50, "48", date(2046, 12, 31)),
        )
    ]
    await m.handled(*[await m.publish(o) for o in placed])
    await assert_exact(m)
    spec = importlib.util.spec_from_file_location("revenue_summary_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    kept = sorted(await m.rows(KEPT.replace("SELECT ", "SELECT id, ", 1)), key=lambda r: r[0])
    assert len(kept) >= 4
    async with m.db.transaction() as session:
        await session.execute(text("DELETE FROM revenue_months"))
        await session.execute(text(migration.REBUILD))
        rebuilt = (await session.execute(text(KEPT + " EXCEPT ALL " + FACTS_BY_MONTH))).all()
        counted = (await session.execute(text("SELECT count(*) FROM revenue_months"))).scalar_one()
    assert rebuilt == [] and counted == len(kept)
    await assert_exact(m)

    await m.execute("TRUNCATE revenue_facts")
    assert await m.scalar("SELECT count(*) FROM revenue_months") == 0
    await m.handled(await m.publish(placed[0]))
    await assert_exact(m)
    assert await m.scalar("SELECT count(*) FROM revenue_months") == 1
