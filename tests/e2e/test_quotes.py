"""Quotes that need approval, through the gateway: the credit check flows as messages
between sales and accounting, acceptance promotes the customer, the order is invoiced."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date

import pytest

from crm_kit.auth import Role
from crm_testkit import catalogue
from crm_testkit.polling import eventually

pytestmark = pytest.mark.e2e

#: Accounting's default credit limit for a customer without an account (a prospect).
DEFAULT_LIMIT = 50_000_000


async def product(manager, price: int = 12_000_000, vat: int = 10) -> str:
    code = f"MNK-{uuid.uuid4().hex[:6].upper()}"
    await catalogue.product_group(manager.client, "compressors", name="Máy nén khí")
    made = await manager.client.post(
        "/api/products",
        json={
            "code": code,
            "name": "Máy nén khí trục vít",
            "product_group": "compressors",
            "unit_price": price,
            "vat_rate_pct": vat,
        },
    )
    assert made.status_code == 201, made.text
    return code


async def prospect_known_to_sales(seller, name: str) -> str:
    made = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": name, "region_code": "79"}
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]

    async def known():
        return await seller.client.get("/api/sales/customers", params={"stage": "prospect", "limit": 200})

    await eventually(
        known, until=lambda r: cid in [c["id"] for c in r.json()["items"]], what="the prospect known to sales"
    )
    return cid


async def quote(seller, customer_id: str, code: str, quantity: int = 2, discount: float = 5) -> dict:
    made = await seller.client.post(
        "/api/quotes",
        json={
            "customer_id": customer_id,
            "lines": [{"product_code": code, "quantity": quantity, "discount_pct": discount}],
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"
    return made.json()


async def submitted_and_checked(seller, quote_id: str, expect: str = "passed") -> dict:
    submitted = await seller.client.post(f"/api/quotes/{quote_id}/submit")
    assert submitted.status_code == 200, submitted.text
    checked = await eventually(
        lambda: seller.client.get(f"/api/quotes/{quote_id}"),
        until=lambda r: (r.json().get("credit_check") or {}).get("status") in ("passed", "failed"),
        what="accounting's credit check recorded on the quote",
    )
    assert checked.json()["credit_check"]["status"] == expect, checked.json()
    return checked.json()


async def test_prospect_to_invoice_through_approval(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager)
    cid = await prospect_known_to_sales(seller, "Công ty TNHH Kỹ thuật Phương Nam")
    draft = await quote(seller, cid, code)
    assert draft["total"] == round(2 * 12_000_000 * 0.95 * 1.10)

    checked = await submitted_and_checked(seller, draft["id"])
    assert checked["status"] == "pending_approval"
    assert (await seller.client.post(f"/api/quotes/{draft['id']}/approve", json={})).status_code == 403
    queue = (
        await manager.client.get("/api/quotes", params={"status": "pending_approval", "limit": 200})
    ).json()
    assert draft["id"] in [q["id"] for q in queue["items"]]
    approved = await manager.client.post(f"/api/quotes/{draft['id']}/approve", json={})
    assert approved.status_code == 200, approved.text
    assert (await seller.client.post(f"/api/quotes/{draft['id']}/send")).json()["status"] == "sent"
    accepted = await seller.client.post(f"/api/quotes/{draft['id']}/accept")
    assert accepted.json()["status"] == "accepted", accepted.text

    customer = await eventually(
        lambda: seller.client.get(f"/api/customers/{cid}"),
        until=lambda r: r.json()["lifecycle_stage"] == "traditional",
        what="the customer promoted on acceptance",
    )
    assert customer.json()["lifecycle_stage"] == "traditional"
    await eventually(lambda: seller.client.get(f"/api/accounts/{cid}"), until=lambda r: r.status_code == 200)
    orders = await eventually(
        lambda: seller.client.get("/api/orders", params={"customer_id": cid}),
        until=lambda r: r.json()["total"] == 1,
        what="one order from the accepted quote",
    )
    assert orders.json()["items"][0]["total"] == draft["total"]
    invoices = await eventually(
        lambda: seller.client.get("/api/invoices", params={"customer_id": cid}),
        until=lambda r: r.json()["total"] == 1,
        what="the order invoiced",
    )
    invoice = invoices.json()["items"][0]
    assert invoice["total"] == draft["total"]
    assert re.fullmatch(rf"INV-{date.today().year}-\d{{6}}", invoice["number"])


async def test_approval_cannot_be_bypassed(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager)
    cid = await prospect_known_to_sales(seller, "Đại lý Thiết bị Hưng Thịnh")

    draft = await quote(seller, cid, code)
    await submitted_and_checked(seller, draft["id"])
    assert (await manager.client.post(f"/api/quotes/{draft['id']}/approve", json={})).status_code == 200
    edited = await seller.client.patch(
        f"/api/quotes/{draft['id']}",
        json={"lines": [{"product_code": code, "quantity": 3, "discount_pct": 5}]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "draft"
    assert (await seller.client.post(f"/api/quotes/{draft['id']}/send")).status_code == 409

    big = await quote(seller, cid, code, quantity=10, discount=0)  # 132,000,000 > the default limit
    assert big["total"] > DEFAULT_LIMIT
    await submitted_and_checked(seller, big["id"], expect="failed")
    refused = await manager.client.post(f"/api/quotes/{big['id']}/approve", json={})
    assert refused.status_code == 409, refused.text
    overridden = await manager.client.post(
        f"/api/quotes/{big['id']}/approve", json={"override_reason": "Khách hàng chiến lược, đặt cọc 30%"}
    )
    assert overridden.status_code == 200, overridden.text


async def test_200_acceptances_while_accounting_is_stopped(stack, new_user, databases):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager, price=1_000_000)
    gate = asyncio.Semaphore(20)

    async def approved_quote(i: int) -> str:
        async with gate:
            cid = await prospect_known_to_sales(seller, f"Cửa hàng {i:03d}")
            q = await quote(seller, cid, code, quantity=1, discount=0)
            await submitted_and_checked(seller, q["id"])
            assert (await manager.client.post(f"/api/quotes/{q['id']}/approve", json={})).status_code == 200
            assert (await seller.client.post(f"/api/quotes/{q['id']}/send")).status_code == 200
            return q["id"]

    quote_ids = await asyncio.gather(*(approved_quote(i) for i in range(200)))
    stack.stop("accounting")
    try:
        for chunk in range(0, 200, 20):
            answers = await asyncio.gather(
                *(seller.client.post(f"/api/quotes/{qid}/accept") for qid in quote_ids[chunk : chunk + 20])
            )
            assert all(a.status_code == 200 for a in answers)
        placed = await eventually(
            lambda: databases.fetchval(
                "sales", "SELECT count(*) FROM orders WHERE quote_id::text = ANY($1::text[])", list(quote_ids)
            ),
            until=lambda n: n == 200,
            timeout=60,
            what="200 orders placed while accounting is down",
        )
        assert placed == 200
    finally:
        stack.start("accounting")
        stack.wait_ready(("accounting",))

    invoiced = await eventually(
        lambda: databases.fetchval(
            "accounting",
            "SELECT count(*) FROM invoices WHERE quote_id::text = ANY($1::text[])",
            list(quote_ids),
        ),
        until=lambda n: n == 200,
        timeout=90,
        what="200 invoices after accounting came back",
    )
    numbers = await databases.fetchval(
        "accounting",
        "SELECT array_agg(number ORDER BY number) FROM invoices WHERE number LIKE $1",
        f"INV-{date.today().year}-%",
    )
    sequence = [int(n.rsplit("-", 1)[1]) for n in numbers]
    accounts = await databases.fetchval(
        "accounting",
        "SELECT count(DISTINCT customer_id) FROM invoices WHERE quote_id::text = ANY($1::text[])",
        list(quote_ids),
    )
    print(
        f"\n[accounting down] 200 accepted, {placed} orders, {invoiced} invoices, {accounts} accounts, "
        f"invoice numbers 1..{max(sequence)} with {max(sequence) - len(set(sequence))} gaps"
    )
    assert invoiced == 200 and accounts == 200
    assert sequence == list(range(1, len(sequence) + 1))  # no gaps, no duplicates
