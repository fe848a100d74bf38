"""The first real flow: a prospect promoted to traditional reaches sales and accounting."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

pytestmark = pytest.mark.e2e

PROMOTED = "customers.customer.promoted_to_traditional.v1"
OF_CUSTOMER = "convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'customer_id' = $2"


async def create_prospect(api, name: str = "Công ty TNHH Thiết bị Hòa Bình") -> dict:
    response = await api.client.post(
        "/api/customers",
        json={"confirm_duplicate": True, "name": name, "phone": "0912 345 678", "region_code": "01"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["lifecycle_stage"] == "prospect"
    return body


async def promotion_event(databases, customer_id: str) -> bytes:
    return await databases.fetchval(
        "customers",
        f"SELECT body FROM outbox WHERE routing_key = $1 AND {OF_CUSTOMER}",
        PROMOTED,
        customer_id,
    )


async def test_promotion_reaches_sales_and_accounting_once(stack, new_user, databases):
    seller = await new_user(Role.SALESPERSON)
    customer = await create_prospect(seller)
    cid = customer["id"]

    promoted = await seller.client.post(f"/api/customers/{cid}/promote")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["lifecycle_stage"] == "traditional"

    account = await eventually(
        lambda: seller.client.get(f"/api/accounts/{cid}"),
        until=lambda r: r.status_code == 200,
        what="account opened",
    )
    assert account.json()["balance"] == 0
    assert account.json()["owner_id"] == str(seller.user_id)
    sales_customer = await eventually(
        lambda: seller.client.get(f"/api/sales/customers/{cid}"),
        until=lambda r: r.status_code == 200,
        what="customer open in sales",
    )
    assert sales_customer.json()["name"] == customer["name"]

    again = await seller.client.post(f"/api/customers/{cid}/promote")
    assert again.status_code == 200
    assert again.json()["promoted_at"] == promoted.json()["promoted_at"]
    await asyncio.sleep(1.5)  # time for a wrongly emitted second event to arrive
    promotions = await databases.fetchval(
        "customers",
        f"SELECT count(*) FROM outbox WHERE routing_key = $1 AND {OF_CUSTOMER}",
        PROMOTED,
        cid,
    )
    assert promotions == 1
    accounts = await databases.fetchval(
        "accounting", "SELECT count(*) FROM accounts WHERE customer_id = $1", uuid.UUID(cid)
    )
    assert accounts == 1
    timeline = (await seller.client.get(f"/api/customers/{cid}/timeline")).json()
    assert [entry["kind"] for entry in timeline] == ["registered", "stage_changed"]


async def test_the_correlation_id_follows_the_flow_into_events_and_logs(stack, new_user, databases):
    seller = await new_user(Role.SALESPERSON)
    cid = (await create_prospect(seller, "Cửa hàng Điện máy Sao Mai"))["id"]
    flow = f"flow-{uuid.uuid4().hex[:12]}"

    promoted = await seller.client.post(f"/api/customers/{cid}/promote", headers={"X-Correlation-ID": flow})
    assert promoted.headers["x-correlation-id"] == flow
    await eventually(lambda: seller.client.get(f"/api/accounts/{cid}"), until=lambda r: r.status_code == 200)
    envelope = json.loads(await promotion_event(databases, cid))
    assert envelope["correlation_id"] == flow
    assert envelope["actor"] == str(seller.user_id)
    assert envelope["source"] == "customers"
    # Accounting runs at DEBUG in these tests, so it logs each event it handles.
    handled = [
        json.loads(line)
        for line in (stack.log_dir / "accounting.log").read_text().splitlines()
        if line.startswith("{") and flow in line
    ]
    assert [(h["correlation_id"], h["event_id"]) for h in handled if h["msg"].startswith("handled")] == [
        (flow, envelope["event_id"])
    ]
