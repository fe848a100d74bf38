"""Repeat business through the gateway (issue 15): a traditional customer buys a second
time without a lead and without a second customer record, and a lead that turns out to
be that customer converts onto it."""

from __future__ import annotations

import uuid

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from .test_quotes import product, prospect_known_to_sales, submitted_and_checked

pytestmark = pytest.mark.e2e


async def bought(seller, manager, customer_id: str, code: str, **quote_fields) -> dict:
    """A quote for the customer, approved, sent and accepted: one more order."""
    made = await seller.client.post(
        "/api/quotes",
        json={"customer_id": customer_id, "lines": [{"product_code": code, "quantity": 1}], **quote_fields},
    )
    assert made.status_code == 201, made.text
    draft = made.json()
    checked = await submitted_and_checked(seller, draft["id"])
    if checked["status"] == "pending_approval":
        approved = await manager.client.post(f"/api/quotes/{draft['id']}/approve", json={})
        assert approved.status_code == 200, approved.text
    assert (await seller.client.post(f"/api/quotes/{draft['id']}/send")).status_code == 200
    accepted = await seller.client.post(f"/api/quotes/{draft['id']}/accept")
    assert accepted.json()["status"] == "accepted", accepted.text
    return accepted.json()


async def test_a_traditional_customer_buys_again_without_a_lead_or_a_second_record(
    stack, new_user, databases
):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager, price=3_000_000)
    name = f"Công ty TNHH Máy Xây dựng {uuid.uuid4().hex[:5]}"
    cid = await prospect_known_to_sales(seller, name)
    await bought(seller, manager, cid, code)
    await eventually(
        lambda: seller.client.get(f"/api/sales/customers/{cid}"),
        until=lambda r: r.status_code == 200,
        what="the customer open for ordering after its first order",
    )

    # Again, with no lead: an opportunity for the customer sales knows, then its quote.
    opened = await seller.client.post(
        "/api/opportunities",
        json={"customer_id": cid, "name": "Mua thêm quý II", "expected_amount": 3_300_000},
    )
    assert opened.status_code == 201, opened.text
    opportunity = opened.json()
    assert opportunity["customer_name"] == name and opportunity["lead_id"] is None
    await bought(seller, manager, cid, code, opportunity_id=opportunity["id"])
    orders = await eventually(
        lambda: seller.client.get("/api/orders", params={"customer_id": cid}),
        until=lambda r: r.json()["total"] == 2,
        what="a second order for the same customer",
    )
    assert {o["customer_id"] for o in orders.json()["items"]} == {cid}
    won = await seller.client.get(f"/api/opportunities/{opportunity['id']}")
    assert won.json()["stage"] == "won"

    # A lead that turns out to be the same customer converts onto it.
    lead = await seller.client.post(
        "/api/leads", json={"full_name": "Phạm Văn Khoa", "company": name, "source": "trade_fair"}
    )
    assert lead.status_code in (201, 409), lead.text
    if lead.status_code == 409:
        lead = await seller.client.post(
            "/api/leads",
            json={
                "full_name": "Phạm Văn Khoa",
                "company": name,
                "source": "trade_fair",
                "confirm_duplicate": True,
            },
        )
    lead_id = lead.json()["id"]
    assert (await seller.client.post(f"/api/leads/{lead_id}/contact", json={})).status_code == 200
    evaluated = await seller.client.post(f"/api/leads/{lead_id}/evaluate", json={"promising": True})
    assert evaluated.status_code == 200, evaluated.text
    converted = await seller.client.post(
        f"/api/leads/{lead_id}/convert",
        json={"customer_id": cid, "opportunity": {"name": "Máy xúc mini", "expected_amount": 9_000_000}},
    )
    assert converted.status_code == 200, converted.text
    assert converted.json()["customer_id"] == cid
    await eventually(
        lambda: seller.client.get(f"/api/customers/{cid}/timeline"),
        until=lambda r: any(e["kind"] == "lead_converted" for e in r.json()),
        what="the lead in the customer's timeline",
    )
    opportunities = await eventually(
        lambda: seller.client.get("/api/opportunities", params={"customer_id": cid}),
        until=lambda r: r.json()["total"] == 2,
        what="the lead's opportunity on the same customer",
    )
    assert {o["customer_id"] for o in opportunities.json()["items"]} == {cid}
    records = await databases.fetchval("customers", "SELECT count(*) FROM customers WHERE name = $1", name)
    assert records == 1  # one customer, two orders, a converted lead
