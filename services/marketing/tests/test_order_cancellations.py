"""A cancelled order's revenue goes, whatever the order of arrival: market share and target
attainment no longer count it (sales' `OrderCancelled`), and the credit note accounting
issues for an invoice that crossed the cancellation takes nothing more."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from crm_contracts import OrderCancelled, OrderPlaced
from crm_kit.auth import Role, User
from crm_testkit.infra import Infra
from crm_testkit.service import running_service
from marketing.app import create_app
from marketing.settings import Settings

from .known_groups import new_group
from .test_credit_notes import attainment, credit, placed
from .test_integration import Marketing, new_volume, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def marketing(infra: Infra) -> AsyncIterator[Marketing]:
    async with running_service(
        infra, "marketing", create_app, Settings, kind=Marketing, retry_delay_s=0.3, relay_poll_interval_s=0.2
    ) as running:
        yield running


def cancelled(order: OrderPlaced) -> OrderCancelled:
    return OrderCancelled(
        order_id=order.order_id,
        order_number=order.order_number,
        quote_id=order.quote_id,
        customer_id=order.customer_id,
        owner_id=order.owner_id,
        region_code=order.region_code,
        channel_id=order.channel_id,
        lines=order.lines,
        net_total=order.net_total,
        total=order.total,
        order_date=order.order_date,
        placed_at=order.placed_at,
        reason="khách hủy",
        cancelled_by=uuid.uuid4(),
        cancelled_at=datetime.now(UTC),
    )


async def share_revenue(m: Marketing, group: str, period: str) -> int:
    report = await m.get("/api/market-share", period=period, product_group=group, region_code="01")
    return sum(int(r["revenue"]) for r in report["rows"] if r["channel_id"] is None)


async def test_a_cancelled_order_leaves_market_share_and_attainment(marketing: Marketing) -> None:
    m = marketing
    planner = m.headers_for(User(id=uuid.uuid4(), username="planner", role=Role.MARKETING))
    seller = (await m.staff(Role.SALESPERSON)).id
    group = await new_group(m, "pumps")
    await new_volume(m, "01", group, "2037", 10_000_000)
    created = await m.http.post(
        "/api/targets",
        headers=planner,
        json={"period": "2037", "region_code": "01", "product_group": group, "amount": 1_000_000},
    )
    assert created.status_code == 201, created.text
    kept = placed([(group, 300_000)], on=date(2037, 3, 1), seller=seller, region="01")
    dropped = placed([(group, 500_000), (group, 100_000)], on=date(2037, 3, 2), seller=seller, region="01")
    await m.handled(await m.publish(kept), await m.publish(dropped))
    assert await share_revenue(m, group, "2037") == 900_000
    [row] = [r for r in await attainment(m, period="2037") if r["product_group"] == group]
    assert row["actual"] == 900_000

    cancellation = cancelled(dropped)
    await m.handled(await m.publish(cancellation))
    await m.handled(await m.publish(cancellation))  # again, under another event id
    assert await share_revenue(m, group, "2037") == 300_000
    [row] = [r for r in await attainment(m, period="2037") if r["product_group"] == group]
    assert row["actual"] == 300_000

    # The credit note of an invoice that crossed the cancellation takes nothing more.
    note = credit(dropped, 600_000, on=date(2037, 3, 5)).model_copy(update={"order_cancelled": True})
    await m.handled(await m.publish(note))
    assert await share_revenue(m, group, "2037") == 300_000


async def test_a_cancellation_before_its_order_keeps_the_order_at_zero(marketing: Marketing) -> None:
    m = marketing
    seller = (await m.staff(Role.SALESPERSON)).id
    group = unique("valves")
    order = placed([(group, 400_000)], on=date(2038, 6, 1), seller=seller, region="01")
    await m.handled(await m.publish(cancelled(order)))
    await m.handled(await m.publish(order))
    total = await m.scalar("SELECT sum(net_amount) FROM revenue_facts WHERE product_group = :g", g=group)
    assert total == 0
