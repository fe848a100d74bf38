"""A lead that turns out to be an existing customer converts onto it (issue 15): no new
prospect is minted, and `LeadQualified` says so."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from crm_contracts import CustomerDeactivated, CustomerPromotedToTraditional, CustomerRegistered
from crm_kit.auth import Role
from crm_testkit.service import Staff

from .conftest import LeadsService
from .test_api import outbox, promising

pytestmark = pytest.mark.integration

QUALIFIED = "leads.lead.qualified.v1"


async def known_customer(leads: LeadsService, owner: Staff, *, traditional: bool = True) -> uuid.UUID:
    customer_id = uuid.uuid4()
    registered = CustomerRegistered(
        customer_id=customer_id,
        name=f"Công ty {customer_id.hex[:6]}",
        lifecycle_stage="prospect",
        owner_id=owner.id,
    )
    await leads.handled((await leads.publish(registered)).event_id)
    if traditional:
        promoted = CustomerPromotedToTraditional(
            customer_id=customer_id, name=registered.name, owner_id=owner.id, promoted_at=datetime.now(UTC)
        )
        await leads.handled((await leads.publish(promoted)).event_id)
    return customer_id


async def test_a_lead_converts_onto_the_existing_customer_it_turned_out_to_be(leads: LeadsService) -> None:
    seller = await leads.staff(Role.SALESPERSON)
    customer_id = await known_customer(leads, seller)
    lead = await promising(leads, seller)
    converted = await leads.http.post(
        f"/api/leads/{lead['id']}/convert",
        headers=seller.headers,
        json={
            "customer_id": str(customer_id),
            "opportunity": {"name": "Đơn bổ sung", "expected_amount": 90_000_000},
        },
    )
    assert converted.status_code == 200, converted.text
    assert converted.json()["customer_id"] == str(customer_id)
    [event] = await outbox(leads, QUALIFIED, lead["id"])
    assert event["data"]["customer_id"] == str(customer_id) and event["data"]["onto_existing"] is True
    assert event["data"]["opportunity_id"] == converted.json()["opportunity_id"]
    history = await leads.http.get(f"/api/leads/{lead['id']}/history", headers=seller.headers)
    assert any("onto_existing_customer" in (h.get("changes") or {}) for h in history.json()["items"])


async def test_converting_onto_a_customer_that_cannot_take_it_changes_nothing(leads: LeadsService) -> None:
    seller, other = await leads.staff(Role.SALESPERSON), await leads.staff(Role.SALESPERSON)
    someone_elses = await known_customer(leads, other)
    gone = await known_customer(leads, seller)
    deactivated = CustomerDeactivated(customer_id=gone, reason="closed", deactivated_at=datetime.now(UTC))
    await leads.handled((await leads.publish(deactivated)).event_id)
    lead = await promising(leads, seller)
    cases = [
        (str(someone_elses), 422, "not one of yours"),
        (str(gone), 422, "inactive"),
        (str(uuid.uuid4()), 503, "not known to leads yet"),
        ("not-an-id", 422, None),
    ]
    for customer_id, status, words in cases:
        refused = await leads.http.post(
            f"/api/leads/{lead['id']}/convert", headers=seller.headers, json={"customer_id": customer_id}
        )
        assert refused.status_code == status, (customer_id, refused.text)
        if words:
            assert words in refused.json()["detail"], refused.text
    still = await leads.http.get(f"/api/leads/{lead['id']}", headers=seller.headers)
    assert still.json()["status"] == "evaluated"
    assert await outbox(leads, QUALIFIED, lead["id"]) == []
    # A manager may convert onto anyone's customer.
    manager = await leads.staff(Role.SALES_MANAGER)
    onto = await leads.http.post(
        f"/api/leads/{lead['id']}/convert", headers=manager.headers, json={"customer_id": str(someone_elses)}
    )
    assert onto.status_code == 200, onto.text
