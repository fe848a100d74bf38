"""Two records of one business merged through the gateway: the survivor keeps the B2B
record, and the merged customer's quote, order and invoice count under it in sales and
accounting."""

from __future__ import annotations

import uuid

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually
from crm_testkit.values import tax_code

from .test_quotes import product, prospect_known_to_sales, quote, submitted_and_checked

pytestmark = pytest.mark.e2e


async def test_a_merged_customers_order_and_invoice_count_under_the_survivor(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager)
    tag = uuid.uuid4().hex[:6]
    mst = tax_code()
    survivor = await seller.client.post(
        "/api/customers",
        json={
            "name": f"Thiết bị Hòa Bình {tag}",
            "tax_code": mst,
            "legal_name": f"Công ty TNHH Thiết bị Hòa Bình {tag}",
            "billing_address": "12 Lê Lợi, TP Hồ Chí Minh",
            "region_code": "79",
        },
    )
    assert survivor.status_code == 201, survivor.text
    kept = survivor.json()["id"]
    # The same business typed again: the warning names the first, and is confirmed.
    again = await seller.client.post("/api/customers", json={"name": f"thiet bi hoa binh {tag}"})
    assert again.status_code == 409
    assert [d["id"] for d in again.json()["detail"]["duplicates"]] == [kept]
    gone = await prospect_known_to_sales(seller, f"Thiết bị Hòa Bình {tag}")

    # The duplicate buys: quote, credit check, approval, acceptance, order, invoice.
    draft = await quote(seller, gone, code)
    await submitted_and_checked(seller, draft["id"])
    assert (await manager.client.post(f"/api/quotes/{draft['id']}/approve", json={})).status_code == 200
    assert (await seller.client.post(f"/api/quotes/{draft['id']}/send")).status_code == 200
    assert (await seller.client.post(f"/api/quotes/{draft['id']}/accept")).status_code == 200
    [order] = (
        await eventually(
            lambda: seller.client.get("/api/orders", params={"customer_id": gone}),
            until=lambda r: r.json()["total"] == 1,
            what="the duplicate's order",
        )
    ).json()["items"]
    await eventually(
        lambda: seller.client.get("/api/invoices", params={"customer_id": gone}),
        until=lambda r: r.status_code == 200 and r.json()["total"] == 1,
        what="the duplicate's invoice",
    )

    refused = await seller.client.post(f"/api/customers/{kept}/merge", json={"duplicate_id": gone})
    assert refused.status_code == 403
    merged = await manager.client.post(f"/api/customers/{kept}/merge", json={"duplicate_id": gone})
    assert merged.status_code == 200, merged.text
    # The merged customer had bought, so the survivor is traditional now.
    assert merged.json()["lifecycle_stage"] == "traditional" and merged.json()["tax_code"] == mst

    moved = await eventually(
        lambda: seller.client.get("/api/orders", params={"customer_id": kept}),
        until=lambda r: r.json()["total"] == 1,
        what="the order under the survivor in sales",
    )
    assert moved.json()["items"][0]["id"] == order["id"]
    assert (await seller.client.get("/api/orders", params={"customer_id": gone})).json()["total"] == 0
    quotes = await seller.client.get("/api/quotes", params={"customer_id": kept})
    assert [q["id"] for q in quotes.json()["items"]] == [draft["id"]]
    account = await eventually(
        lambda: seller.client.get(f"/api/accounts/{kept}"),
        until=lambda r: r.status_code == 200 and r.json()["open_receivables"] == order["total"],
        what="the invoice owed on the survivor's account",
    )
    assert account.json()["open_receivables"] == order["total"]
    opened = await seller.client.get(f"/api/sales/customers/{gone}")
    assert opened.status_code == 200 and opened.json()["id"] == kept
    old = (await manager.client.get(f"/api/customers/{gone}")).json()
    assert (old["lifecycle_stage"], old["merged_into_id"]) == ("inactive", kept)
