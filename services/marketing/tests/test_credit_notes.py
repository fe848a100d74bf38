"""Credit notes come off the revenue they correct: market share and target attainment
count what customers really bought (accounting's `CreditNoteIssued`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from crm_contracts import CreditNoteIssued, OrderLine, OrderPlaced
from crm_kit.auth import Role, User
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, running_service
from marketing.app import create_app
from marketing.settings import Settings

from .known_groups import new_group

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def marketing(infra: Infra) -> AsyncIterator[ServiceUnderTest[Settings]]:
    async with running_service(infra, "marketing", create_app, Settings, retry_delay_s=0.3) as running:
        yield running


def placed(group_amounts: list[tuple[str, int]], *, on: date, seller: uuid.UUID, region: str) -> OrderPlaced:
    lines = [
        OrderLine(
            product_code=f"P{i}",
            product_name=f"Sản phẩm {i}",
            product_group=group,
            quantity=1,
            unit_price=amount,
            discount_pct=0,
            vat_rate_pct=10,
            net_amount=amount,
            vat_amount=amount // 10,
        )
        for i, (group, amount) in enumerate(group_amounts)
    ]
    net = sum(amount for _, amount in group_amounts)
    return OrderPlaced(
        order_id=uuid.uuid4(),
        order_number=f"SO-{uuid.uuid4().hex[:6]}",
        quote_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        owner_id=seller,
        region_code=region,
        lines=lines,
        net_total=net,
        vat_total=net // 10,
        total=net + net // 10,
        placed_at=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
        order_date=on,
    )


def credit(order: OrderPlaced, net_amount: int, *, on: date) -> CreditNoteIssued:
    return CreditNoteIssued(
        credit_note_id=uuid.uuid4(),
        number=f"CN-{on.year}-{uuid.uuid4().int % 10**6:06d}",
        invoice_id=uuid.uuid4(),
        order_id=order.order_id,
        customer_id=order.customer_id,
        amount=net_amount + net_amount // 10,
        net_amount=net_amount,
        issued_on=on,
        issued_at=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
    )


async def attainment(m: ServiceUnderTest[Settings], **params: str) -> list[dict[str, object]]:
    planner = m.headers_for(User(id=uuid.uuid4(), username="planner", role=Role.MARKETING))
    response = await m.http.get("/api/targets/attainment", headers=planner, params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, object]] = response.json()["rows"]
    return rows


async def test_a_credit_note_lowers_the_actual_of_every_group_of_its_order(
    marketing: ServiceUnderTest[Settings],
) -> None:
    m = marketing
    planner = m.headers_for(User(id=uuid.uuid4(), username="planner", role=Role.MARKETING))
    seller = (await m.staff(Role.SALESPERSON)).id
    pumps, valves = await new_group(m, "pumps"), await new_group(m, "valves")
    for group in (pumps, valves):
        created = await m.http.post(
            "/api/targets",
            headers=planner,
            json={"period": "2035", "region_code": "01", "product_group": group, "amount": 1_000_000},
        )
        assert created.status_code == 201, created.text
    order = placed([(pumps, 600_000), (valves, 200_000)], on=date(2035, 4, 2), seller=seller, region="01")
    await m.handled(await m.publish(order))
    note = credit(order, 100_000, on=date(2035, 5, 1))
    envelope = await m.publish(note)
    await m.handled(envelope)
    await m.handled(await m.publish(note, envelope=envelope))  # delivered twice: counted once

    rows = {r["product_group"]: r["actual"] for r in await attainment(m, period="2035")}
    assert rows == {pumps: 600_000 - 75_000, valves: 200_000 - 25_000}
    # The credit note counts on the day it was issued, not the order's.
    stored = await m.rows(
        "SELECT order_date, sum(net_amount) AS net FROM revenue_facts WHERE order_id = :id GROUP BY 1",
        id=note.credit_note_id,
    )
    assert [(row.order_date, row.net) for row in stored] == [(date(2035, 5, 1), -100_000)]


async def test_a_credit_note_that_arrives_before_its_order_waits_for_it(
    marketing: ServiceUnderTest[Settings],
) -> None:
    m = marketing
    seller = (await m.staff(Role.SALESPERSON)).id
    group = f"motors-{uuid.uuid4().hex[:6]}"
    order = placed([(group, 300_000)], on=date(2036, 1, 10), seller=seller, region="79")
    early = await m.publish(credit(order, 30_000, on=date(2036, 1, 20)))
    await m.handled(await m.publish(order))
    await m.handled(early)
    total = await m.scalar("SELECT sum(net_amount) FROM revenue_facts WHERE product_group = :g", g=group)
    assert total == 270_000
