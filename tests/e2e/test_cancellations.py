"""Cancelling an order and crediting an invoice lower the figures, through the whole system:
an order cancelled before it is invoiced (or, if accounting was quicker, credited in full
by accounting itself), and an invoiced order whose cancel is refused and whose invoice is
credited instead. Market share, target attainment and performance all drop by what left."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crm_kit.auth import Role
from crm_testkit import catalogue
from crm_testkit.polling import eventually

from .test_market_share import order_through_the_flow

pytestmark = pytest.mark.e2e

REGION = "92"


async def test_a_cancelled_order_and_a_credited_invoice_lower_share_attainment_and_performance(
    stack, new_user
):
    seller, manager, marketer, accountant = (
        await new_user(Role.SALESPERSON),
        await new_user(Role.SALES_MANAGER),
        await new_user(Role.MARKETING),
        await new_user(Role.ACCOUNTANT),
    )
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    year, month = str(now.year), now.strftime("%Y-%m")
    group = await catalogue.product_group(manager.client, f"cancel-{uuid.uuid4().hex[:6]}")
    code = f"CX-{uuid.uuid4().hex[:6].upper()}"
    made = await manager.client.post(
        "/api/products",
        json={"code": code, "name": "Máy phát điện", "product_group": group, "unit_price": 10_000_000},
    )
    assert made.status_code == 201, made.text
    channel = await marketer.client.post(
        "/api/channels",
        json={"name": f"Đại lý {uuid.uuid4().hex[:4]}", "kind": "dealer", "region_codes": [REGION]},
    )
    assert channel.status_code == 201, channel.text
    channel_id = channel.json()["id"]
    volume = await catalogue.once_known(
        lambda: marketer.client.post(
            "/api/market-volumes",
            json={
                "region_code": REGION,
                "product_group": group,
                "period": year,
                "amount": 900_000_000,
                "source": "industry_report",
            },
        )
    )
    assert volume.status_code == 201, volume.text
    target = await marketer.client.post(
        "/api/targets",
        json={"region_code": REGION, "product_group": group, "period": year, "amount": 100_000_000},
    )
    assert target.status_code == 201, target.text

    first = await order_through_the_flow(seller, manager, code, REGION, channel_id, 2)
    second = await order_through_the_flow(seller, manager, code, REGION, channel_id, 3)
    orders = (await seller.client.get("/api/orders", params={"limit": 10})).json()["items"]
    by_net = {o["net_total"]: o for o in orders}
    cancelled, invoiced = by_net[first], by_net[second]

    async def figures() -> tuple[int, int, tuple[int, int]]:
        share = await marketer.client.get(
            "/api/market-share", params={"period": year, "product_group": group}
        )
        revenue = sum(r["revenue"] for r in share.json()["rows"] if r["channel_id"] == channel_id)
        attainment = await marketer.client.get("/api/targets/attainment", params={"period": year})
        actual = sum(r["actual"] for r in attainment.json()["rows"] if r.get("product_group") == group)
        performance = (await seller.client.get("/api/performance", params={"period": month})).json()["items"]
        done = (sum(r["orders"] for r in performance), sum(r["revenue"] for r in performance))
        return revenue, actual, done

    both = first + second
    await eventually(figures, until=lambda f: f == (both, both, (2, both)), what="both orders counted")

    # The first order, cancelled at once: sales takes it (or, if accounting's invoice got to
    # sales first, refuses it, and the accountant credits the invoice in full instead).
    answer = await seller.client.post(f"/api/orders/{cancelled['id']}/cancel", json={"reason": "khách hủy"})
    if answer.status_code == 409:
        assert "credit the invoice instead" in answer.json()["detail"]
        bill = await eventually(
            lambda: accountant.client.get("/api/invoices", params={"customer_id": cancelled["customer_id"]}),
            until=lambda r: r.json()["total"] == 1,
        )
        whole = bill.json()["items"][0]
        noted = await accountant.client.post(
            f"/api/invoices/{whole['id']}/credit-notes",
            json={"amount": whole["total"], "reason": "khách hủy"},
        )
        assert noted.status_code == 201, noted.text
        orders_left = 2  # a credit note leaves the order counted, its revenue gone
    else:
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "cancelled"
        orders_left = 1
    await eventually(
        figures, until=lambda f: f[:2] == (second, second) and f[2][1] == second, what="the first order gone"
    )

    # The second: once sales knows its invoice, the cancel is refused; half of it is credited.
    await eventually(
        lambda: seller.client.get(f"/api/orders/{invoiced['id']}"),
        until=lambda r: r.json()["invoice_number"] is not None,
        what="sales told of the invoice",
    )
    refused = await manager.client.post(f"/api/orders/{invoiced['id']}/cancel", json={"reason": "late"})
    assert refused.status_code == 409
    order = (await seller.client.get(f"/api/orders/{invoiced['id']}")).json()
    assert order["invoice_number"] in refused.json()["detail"] and order["status"] == "placed"
    invoice = (await accountant.client.get(f"/api/invoices/{order['invoice_id']}")).json()
    half = invoice["total"] // 2
    noted = await accountant.client.post(
        f"/api/invoices/{invoice['id']}/credit-notes", json={"amount": half, "reason": "trả một nửa"}
    )
    assert noted.status_code == 201, noted.text
    left = second - (2 * half * invoice["net_total"] + invoice["total"]) // (2 * invoice["total"])
    await eventually(
        figures, until=lambda f: f == (left, left, (orders_left, left)), what="half of the second credited"
    )
