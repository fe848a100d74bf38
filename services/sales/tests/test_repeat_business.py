"""Repeat business (issue 15): an opportunity for a customer sales knows, without a new
lead, and the forecast by expected close date."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from crm_contracts import CustomerDeactivated
from crm_testkit.service import Staff as Actor

from .conftest import Sales, act, approved_quote, lines, orders_of, prospect, traditional

pytestmark = pytest.mark.integration


def month_start(day: date, months_on: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months_on
    return date(index // 12, index % 12 + 1, 1)


async def open_one(sales: Sales, actor: Actor, customer_id: uuid.UUID, **fields: Any) -> Any:
    return await sales.http.post(
        "/api/opportunities",
        headers=actor.headers,
        json={"customer_id": str(customer_id), "name": "Đơn hàng quý II", **fields},
    )


async def test_a_traditional_customer_buys_again_through_a_new_opportunity_and_quote(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = await traditional(sales, seller)
    first = await approved_quote(sales, seller, manager, customer_id, lines(catalogue))
    await act(sales, seller, await act(sales, seller, first, "send"), "accept")
    close_on = date.today() + timedelta(days=40)
    made = await open_one(
        sales, seller, customer_id, expected_amount=250_000_000, expected_close_on=close_on.isoformat()
    )
    assert made.status_code == 201, made.text
    opportunity = made.json()
    assert opportunity["customer_id"] == str(customer_id) and opportunity["lead_id"] is None
    assert opportunity["owner_id"] == str(seller.id) and opportunity["stage"] == "qualification"
    assert opportunity["expected_close_on"] == close_on.isoformat()

    second = await approved_quote(
        sales, seller, manager, customer_id, lines(catalogue), opportunity_id=opportunity["id"]
    )
    await act(sales, seller, await act(sales, seller, second, "send"), "accept")
    assert len(await orders_of(sales, seller, customer_id)) == 2  # one customer, two orders
    won = (await sales.http.get(f"/api/opportunities/{opportunity['id']}", headers=seller.headers)).json()
    assert won["stage"] == "won" and won["won_quote_id"] == second["id"]
    audit = await sales.rows(
        "SELECT action FROM sales_audit WHERE entity = 'opportunity' AND entity_id = :id ORDER BY id",
        id=uuid.UUID(opportunity["id"]),
    )
    assert next(row.action for row in audit) == "created"


async def test_an_opportunity_needs_a_customer_the_caller_may_sell_to(
    sales: Sales, seller: Actor, manager: Actor
) -> None:
    unknown = await open_one(sales, seller, uuid.uuid4())
    # Maybe a customer created a moment ago whose event is on its way: retry later.
    assert unknown.status_code == 503 and "not known to sales yet" in unknown.json()["detail"]
    assert int(unknown.headers["retry-after"]) >= 1
    someone_elses = await prospect(sales, manager)
    assert (await open_one(sales, seller, someone_elses)).status_code == 422
    mine = await prospect(sales, seller)
    for bad in ({"name": ""}, {"expected_amount": -1}, {"expected_close_on": "soon"}, {"stage": "won"}):
        refused = await open_one(sales, seller, mine, **bad)
        assert refused.status_code == 422, (bad, refused.text)
    gone = await prospect(sales, seller)
    deactivated = CustomerDeactivated(customer_id=gone, reason="closed", deactivated_at=datetime.now(UTC))
    await sales.handled(await sales.publish(deactivated))
    inactive = await open_one(sales, seller, gone)
    assert inactive.status_code == 422 and "inactive" in inactive.json()["detail"]
    count = await sales.rows(
        "SELECT count(*) AS n FROM opportunities WHERE customer_id = ANY(:ids)",
        ids=[someone_elses, mine, gone],
    )
    assert count[0].n == 0
    # A manager opens one for anyone's customer: it is the customer owner's.
    for_the_owner = await open_one(sales, manager, mine)
    assert for_the_owner.status_code == 201 and for_the_owner.json()["owner_id"] == str(seller.id)


async def test_the_forecast_sums_open_opportunities_by_the_month_they_should_close_in(
    sales: Sales, seller: Actor
) -> None:
    customer_id = await prospect(sales, seller)
    this_month, next_month = month_start(date.today()), month_start(date.today(), 1)
    for amount, close_on in (
        (100_000_000, this_month + timedelta(days=27)),
        (300_000_000, next_month + timedelta(days=3)),
        (50_000_000, None),
    ):
        made = await open_one(
            sales,
            seller,
            customer_id,
            expected_amount=amount,
            expected_close_on=close_on.isoformat() if close_on else None,
        )
        assert made.status_code == 201, made.text
    lost = await open_one(
        sales, seller, customer_id, expected_amount=999_000_000, expected_close_on=next_month.isoformat()
    )
    moved = await sales.http.post(
        f"/api/opportunities/{lost.json()['id']}/stage",
        headers=seller.headers,
        json={"stage": "lost", "lost_reason": "chose a competitor"},
    )
    assert moved.status_code == 200, moved.text

    answer = await sales.http.get("/api/opportunities/forecast", headers=seller.headers)
    assert answer.status_code == 200, answer.text
    forecast = answer.json()
    months = {m["month"]: m for m in forecast["months"]}
    assert months[this_month.isoformat()]["amount"] == 100_000_000
    assert months[next_month.isoformat()]["amount"] == 300_000_000  # the lost one is not counted
    assert months[next_month.isoformat()]["weighted_amount"] == 30_000_000  # qualification: 10%
    assert (forecast["undated_count"], forecast["undated_amount"]) == (1, 50_000_000)
    later = await sales.http.get(
        "/api/opportunities/forecast",
        headers=seller.headers,
        params={"from": month_start(date.today(), 2).isoformat()},
    )
    assert later.json()["months"] == []
    for params in ({"from": "2030-01-01", "to": "2029-01-01"}, {"from": "2020-01-01", "to": "2030-01-01"}):
        refused = await sales.http.get("/api/opportunities/forecast", headers=seller.headers, params=params)
        assert refused.status_code == 422, params
