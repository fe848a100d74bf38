"""Plan against actual through the gateway (issue 14's "done when"): marketing sets a
yearly target for Hải Phòng and a dealer channel, a salesperson of that channel sells
1,000,000,000 net through the normal quote flow, and the target shows it."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from .test_quotes import product, submitted_and_checked

pytestmark = pytest.mark.e2e


async def test_a_sale_through_the_quote_flow_moves_its_targets_attainment(stack, new_user):
    planner, manager, seller = (
        await new_user(Role.MARKETING),
        await new_user(Role.SALES_MANAGER),
        await new_user(Role.SALESPERSON),
    )
    dealer = await planner.client.post(
        "/api/channels",
        json={"name": f"Đại lý Hải Phòng {uuid.uuid4().hex[:6]}", "kind": "dealer", "region_codes": ["31"]},
    )
    assert dealer.status_code == 201, dealer.text
    channel_id = dealer.json()["id"]
    year = str(date.today().year)
    target = await planner.client.post(
        "/api/targets",
        json={"period": year, "region_code": "Hải Phòng", "channel_id": channel_id, "amount": 10_000_000_000},
    )
    assert target.status_code == 201, target.text
    assert (
        await seller.client.post("/api/targets", json={"period": year, "region_code": "31", "amount": 1})
    ).status_code == 403

    code = await product(manager, price=100_000_000, vat=10)
    made = await seller.client.post(
        "/api/customers",
        json={
            "confirm_duplicate": True,
            "name": "Công ty CP Máy Thăng Long",
            "region_code": "31",
            "channel_id": channel_id,
        },
    )
    assert made.status_code == 201, made.text
    customer_id = made.json()["id"]
    await eventually(
        lambda: seller.client.get("/api/sales/customers", params={"stage": "prospect", "limit": 200}),
        until=lambda r: customer_id in [c["id"] for c in r.json()["items"]],
        what="the prospect known to sales",
    )
    quote = await seller.client.post(
        "/api/quotes",
        json={
            "customer_id": customer_id,
            "lines": [{"product_code": code, "quantity": 10, "discount_pct": 0}],
        },
    )
    assert quote.status_code == 201, quote.text
    quote_id = quote.json()["id"]
    await submitted_and_checked(seller, quote_id, expect="failed")  # over the default credit limit
    approved = await manager.client.post(
        f"/api/quotes/{quote_id}/approve", json={"override_reason": "a long-standing distributor's group"}
    )
    assert approved.status_code == 200, approved.text
    assert (await seller.client.post(f"/api/quotes/{quote_id}/send")).status_code == 200
    assert (await seller.client.post(f"/api/quotes/{quote_id}/accept")).status_code == 200

    report = await eventually(
        lambda: planner.client.get(
            "/api/targets/attainment", params={"period": year, "channel_id": channel_id}
        ),
        until=lambda r: r.status_code == 200 and any(row["actual"] for row in r.json()["rows"]),
        what="the order's revenue in the target's actual",
    )
    [row] = report.json()["rows"]
    assert (row["region_code"], row["target"], row["actual"], row["attainment"]) == (
        "31",
        10_000_000_000,
        1_000_000_000,
        0.1,
    )


async def test_a_dealers_customer_gets_the_dealer_price_on_a_line_sent_without_one(stack, new_user):
    """Marketing's channel reaches sales with its kind (`ChannelChanged`); a manager's price
    list for dealers then prices a dealer customer's quote line that names no price."""
    planner, manager, seller = (
        await new_user(Role.MARKETING),
        await new_user(Role.SALES_MANAGER),
        await new_user(Role.SALESPERSON),
    )
    dealer = await planner.client.post(
        "/api/channels",
        json={"name": f"Đại lý Đà Nẵng {uuid.uuid4().hex[:6]}", "kind": "dealer", "region_codes": ["48"]},
    )
    assert dealer.status_code == 201, dealer.text
    code = await product(manager, price=12_000_000)
    prices = await manager.client.post(
        "/api/price-lists",
        json={
            "name": "Giá đại lý 2026",
            "channel_kind": "dealer",
            "valid_from": date.today().replace(month=1, day=1).isoformat(),
            "items": [{"product_code": code, "unit_price": 10_500_000}],
        },
    )
    assert prices.status_code == 201, prices.text
    made = await seller.client.post(
        "/api/customers",
        json={
            "confirm_duplicate": True,
            "name": "Cửa hàng Thiết bị Sơn Trà",
            "region_code": "48",
            "channel_id": dealer.json()["id"],
        },
    )
    customer_id = made.json()["id"]
    await eventually(
        lambda: seller.client.get("/api/sales/customers", params={"stage": "prospect", "limit": 200}),
        until=lambda r: customer_id in [c["id"] for c in r.json()["items"]],
        what="the prospect known to sales",
    )

    async def quoted():
        made = await seller.client.post(
            "/api/quotes",
            json={
                "customer_id": customer_id,
                "lines": [{"product_code": code, "quantity": 2, "discount_pct": 0}],
            },
        )
        assert made.status_code == 201, made.text
        return made

    # The channel's kind may still be on its way to sales: a quote made before it knows
    # the kind takes the list price, so ask until the dealer price applies.
    quote = await eventually(
        quoted, until=lambda r: r.json()["lines"][0]["price_source"] == "price_list", what="the dealer price"
    )
    [line] = quote.json()["lines"]
    assert (line["unit_price"], line["price_list_id"]) == (10_500_000, prices.json()["id"])
    with_a_price = await seller.client.post(
        "/api/quotes",
        json={
            "customer_id": customer_id,
            "lines": [{"product_code": code, "quantity": 1, "unit_price": 11_000_000, "discount_pct": 0}],
        },
    )
    assert with_a_price.json()["lines"][0]["price_source"] == "manual"
